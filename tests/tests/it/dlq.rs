//! `flowform-local dlq` against moto: list, peek (leaves the messages), a dry run (moves
//! nothing), and a redrive that puts every message back on its source queue with its body
//! and attributes. moto has no StartMessageMoveTask, so this proves the by-hand path.

use aws_sdk_sqs::types::MessageAttributeValue;
use std::collections::BTreeSet;
use tests::services::*;

#[tokio::test]
async fn dead_letters_are_listed_peeked_and_redriven_whole() {
    // The donut shop's queues have fixed names: provision them into an empty moto, alone.
    let alone = tests::alone().await;
    reset_moto(&alone);
    let text = std::fs::read_to_string(tests::root().join("flowform.yaml")).unwrap();
    let sys = generator::build(&text).unwrap().systems.into_iter().find(|s| s.stage == "dev").unwrap();
    let aws = aws_alone(&alone).await;
    let provisioned = local::provision::up(&sys, &aws).await.unwrap();
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let pairs = local::dlq::pairs(&sys);
    let pair = pairs.iter().find(|p| p.queue == "vip").expect("vip has a DLQ").clone();
    assert_eq!(pairs.len(), 3, "{pairs:?}");
    let bodies: BTreeSet<String> = (0..13).map(|i| format!("{{\"purchase\": {i}}}")).collect();
    for b in &bodies {
        sqs.send_message()
            .queue_url(&provisioned.dlqs["vip"])
            .message_body(b)
            .message_attributes(
                "quantity",
                MessageAttributeValue::builder().data_type("Number").string_value("150").build().unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    assert_eq!(local::dlq::depth(&sqs, &pair.dlq).await.unwrap(), 13);
    let peeked = local::dlq::peek(&sqs, &pair.dlq, 10).await.unwrap();
    assert!(!peeked.is_empty() && peeked.iter().all(|m| bodies.contains(&m.body)), "{peeked:?}");
    assert_eq!(local::dlq::depth(&sqs, &pair.dlq).await.unwrap(), 13, "peek takes nothing");
    let dry = local::dlq::redrive(&sqs, &pair, None, true).await.unwrap();
    assert_eq!((dry.before, dry.moved, dry.after), (13, 0, 13));
    let part = local::dlq::redrive(&sqs, &pair, Some(5), false).await.unwrap();
    assert_eq!((part.before, part.moved, part.after), (13, 5, 8), "{part:?}");
    assert!(part.how.starts_with("receive, send, delete"), "moto has no StartMessageMoveTask: {part:?}");
    let rest = local::dlq::redrive(&sqs, &pair, None, false).await.unwrap();
    assert_eq!((rest.moved, rest.after), (8, 0), "{rest:?}");
    // Every message is back on the source queue, once, with its attribute.
    let mut back = BTreeSet::new();
    for _ in 0..10 {
        let r = sqs
            .receive_message()
            .queue_url(&provisioned.queues["vip"].0)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        for m in r.messages() {
            assert_eq!(m.message_attributes().unwrap()["quantity"].string_value(), Some("150"));
            assert!(back.insert(m.body().unwrap().to_string()), "a message came back twice");
            sqs.delete_message()
                .queue_url(&provisioned.queues["vip"].0)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        if back.len() == bodies.len() {
            break;
        }
    }
    assert_eq!(back, bodies);
}
