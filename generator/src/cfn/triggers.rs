//! How a function is invoked: an SQS event source mapping, API Gateway permissions per
//! route, or (scheduled) a permission for its EventBridge rule plus the rule itself.

use super::expr::{arn, sub, LogicalId};
use super::functions::{EsmView, PermissionView};
use super::schedule::{lower_schedule, schedule_rule_arn, ScheduleView};
use crate::model::*;

pub(super) fn triggers(sys: &System, f: &Function) -> (Option<EsmView>, Vec<PermissionView>, Option<ScheduleView>) {
    let esm = match &f.trigger {
        Trigger::Queue { queue, batch_size, batch_window, max_concurrency } => Some(EsmView {
            id: LogicalId::event_source_mapping(&f.identity),
            queue_arn: arn(&LogicalId::queue(sys.queue_identity(queue))),
            batch_size: *batch_size,
            batch_window: *batch_window,
            max_concurrency: *max_concurrency,
        }),
        Trigger::Http { .. } | Trigger::Schedule { .. } => None,
    };
    let permissions = match &f.trigger {
        Trigger::Http { routes, .. } => routes
            .iter()
            .map(|route| {
                let path: String = route
                    .path
                    .split('/')
                    .map(|seg| if seg.starts_with('{') { "*" } else { seg })
                    .collect::<Vec<_>>()
                    .join("/");
                let method = if route.method == "ANY" { "*" } else { &route.method };
                PermissionView {
                    id: LogicalId::route_permission(&route.method, &route.path),
                    principal: "apigateway.amazonaws.com".into(),
                    source_arn: sub(&format!(
                        "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{HttpApi}}/*/{method}{path}"
                    )),
                }
            })
            .collect(),
        // The rule ARN is spelled out: the rule depends on this permission (so its first
        // run is allowed), and a `!GetAtt` back would be a cycle.
        Trigger::Schedule { .. } => vec![PermissionView {
            id: LogicalId::schedule_permission(&f.identity),
            principal: "events.amazonaws.com".into(),
            source_arn: schedule_rule_arn(sys, f),
        }],
        Trigger::Queue { .. } => Vec::new(),
    };
    let schedule = match &f.trigger {
        Trigger::Schedule { expression, retries, max_event_age } => {
            Some(lower_schedule(sys, f, expression, *retries, *max_event_age))
        }
        _ => None,
    };

    (esm, permissions, schedule)
}
