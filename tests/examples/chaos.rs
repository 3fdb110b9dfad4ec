//! `scripts/chaos.sh`: one chaos run of the donut shop with the faults given as flags, ending
//! with one JSON line (the ledger). Exits 1 when anything was lost or applied twice, or a fault
//! that was asked for never fired. Flags (defaults: every fault on at once, see
//! `tests::chaos::Mix::default`):
//!   --seed N --checkouts N --factory-error-rate P --accept-then-timeout-rate P
//!   --duplicate-callback-rate P --short-report-rate P --marketing-outage-ms MS
//!   --sns-outage-ms MS --db-drop-rate P --duplicate-deliveries true|false --poison true|false
//!   --restock-deadline-s S --calm (start from no faults at all)

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut mix =
        if args.iter().any(|a| a == "--calm") { tests::chaos::Mix::calm() } else { tests::chaos::Mix::default() };
    let mut it = args.iter().filter(|a| *a != "--calm");
    while let Some(flag) = it.next() {
        let Some(v) = it.next() else {
            eprintln!("chaos: {flag} needs a value");
            return std::process::ExitCode::from(2);
        };
        let bad = |what: &str| -> std::process::ExitCode {
            eprintln!("chaos: {flag} {v}: expected {what}");
            std::process::ExitCode::from(2)
        };
        macro_rules! set {
            ($field:expr, $what:literal) => {
                match v.parse() {
                    Ok(x) => $field = x,
                    Err(_) => return bad($what),
                }
            };
        }
        match flag.as_str() {
            "--seed" => set!(mix.seed, "an integer"),
            "--checkouts" => set!(mix.checkouts, "an integer"),
            "--factory-error-rate" => set!(mix.factory_error_rate, "a probability"),
            "--accept-then-timeout-rate" => set!(mix.accept_then_timeout_rate, "a probability"),
            "--duplicate-callback-rate" => set!(mix.duplicate_callback_rate, "a probability"),
            "--short-report-rate" => set!(mix.short_report_rate, "a probability"),
            "--marketing-outage-ms" => set!(mix.marketing_outage_ms, "milliseconds"),
            "--sns-outage-ms" => set!(mix.sns_outage_ms, "milliseconds"),
            "--db-drop-rate" => set!(mix.db_drop_rate, "a probability"),
            "--duplicate-deliveries" => set!(mix.duplicate_deliveries, "true or false"),
            "--poison" => set!(mix.poison, "true or false"),
            "--restock-deadline-s" => set!(mix.restock_deadline_s, "seconds"),
            other => {
                eprintln!("chaos: unknown flag {other}");
                return std::process::ExitCode::from(2);
            }
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().expect("tokio runtime");
    let ledger = rt.block_on(async { tests::chaos::run(&tests::alone().await, &mix, "chaos-cli").await });
    for f in &ledger.findings {
        eprintln!("chaos: {f}");
    }
    println!("{}", serde_json::to_string(&ledger).expect("ledger serialises"));
    if ledger.ok() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
