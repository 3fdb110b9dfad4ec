//! CloudWatch metrics in Embedded Metric Format: one JSON line on stdout, which Lambda's log
//! pipeline turns into metric data points (no PutMetricData call, no extra permission).
//! Namespace `flowform`, dimension `function` (the Lambda function's name).

/// Writes one EMF line with `metrics` as (name, value, unit), e.g. `("OutboxOldestUnpublishedMs",
/// 1200.0, "Milliseconds")`.
pub fn emit(metrics: &[(&str, f64, &str)]) {
    println!("{}", line(&std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default(), now_ms(), metrics));
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn line(function: &str, timestamp_ms: u64, metrics: &[(&str, f64, &str)]) -> String {
    let defs: Vec<serde_json::Value> =
        metrics.iter().map(|(name, _, unit)| serde_json::json!({ "Name": name, "Unit": unit })).collect();
    let mut doc = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{ "Namespace": "flowform", "Dimensions": [["function"]], "Metrics": defs }],
        },
        "function": function,
    });
    for (name, value, _) in metrics {
        doc[*name] = serde_json::json!(value);
    }
    doc.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_emf_line_declares_and_carries_each_metric() {
        let l: serde_json::Value =
            serde_json::from_str(&super::line("f", 7, &[("A", 1.5, "Count"), ("B", 2.0, "Milliseconds")])).unwrap();
        assert_eq!(l["_aws"]["Timestamp"], 7);
        assert_eq!(
            l["_aws"]["CloudWatchMetrics"][0]["Metrics"][1],
            serde_json::json!({ "Name": "B", "Unit": "Milliseconds" })
        );
        assert_eq!((l["A"].as_f64(), l["B"].as_f64(), l["function"].as_str()), (Some(1.5), Some(2.0), Some("f")));
    }
}
