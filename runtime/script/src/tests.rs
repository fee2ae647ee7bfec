use super::*;
use millrace_engine::value::Variables;
use rust_decimal::Decimal;

fn run(kind: ScriptKind, text: &str, vars: &Variables) -> Result<ScriptOutcome, ScriptError> {
    let host = Rhai::new();
    let script = host.compile(kind, text).expect("compiles");
    script.run(&[vars], chrono::DateTime::UNIX_EPOCH)
}

fn vars(pairs: &[(&str, Value)]) -> Variables {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

#[test]
fn decimal_literals_are_exact() {
    let out = run(ScriptKind::Condition, "0.1 + 0.2 == 0.3", &Variables::new()).expect("runs");
    assert_eq!(out.value, Value::Bool(true));
    let out = run(ScriptKind::Expression, "1.10 * 3", &Variables::new()).expect("runs");
    assert_eq!(out.value, Value::Decimal(Decimal::new(330, 2)));
}

#[test]
fn assignments_and_top_level_lets_are_written_back() {
    let v = vars(&[("counter", Value::Int(1)), ("untouched", Value::Int(7))]);
    let out = run(
        ScriptKind::Script,
        "counter = counter + 1; let x = counter * 2; if true { let inner = 1; }",
        &v,
    )
    .expect("runs");
    assert_eq!(
        out.writes,
        vec![
            ("counter".into(), Value::Int(2)),
            ("x".into(), Value::Int(4))
        ]
    );
}

#[test]
fn a_condition_must_be_boolean() {
    let err = run(ScriptKind::Condition, "1 + 1", &Variables::new()).unwrap_err();
    assert!(err.message.contains("not a boolean"), "{err}");
}

#[test]
fn runaway_scripts_are_stopped() {
    let err = run(ScriptKind::Script, "loop { }", &Variables::new()).unwrap_err();
    // Whichever limit comes first: the operation count or the wall clock.
    let m = err.message.to_lowercase();
    assert!(
        m.contains("operations") || m.contains("ran longer than"),
        "{err}"
    );
}

#[test]
fn runtime_errors_carry_their_line() {
    let err = run(
        ScriptKind::Script,
        "let a = 1;\nlet b = a / 0;",
        &Variables::new(),
    )
    .unwrap_err();
    assert_eq!(err.line, Some(2), "{err}");
}

#[test]
fn compile_errors_carry_line_and_column() {
    let fault = Rhai::new()
        .check(ScriptKind::Script, "let a = 1;\nlet = 2;")
        .unwrap_err();
    assert_eq!(fault.line, 2, "{fault:?}");
}

#[test]
fn modules_and_eval_are_not_reachable() {
    assert!(Rhai::new()
        .check(ScriptKind::Script, r#"eval("1")"#)
        .is_err());
    let err = run(
        ScriptKind::Script,
        r#"import "x" as y; 1"#,
        &Variables::new(),
    )
    .unwrap_err();
    assert!(err.message.contains("x"), "{err}");
}

#[test]
fn business_days_are_available_to_scripts() {
    let v = vars(&[("paid", Value::String("2024-12-06T10:00:00Z".into()))]);
    let out = run(
        ScriptKind::Expression,
        r#"add_business_days(parse_datetime(paid), 10) > parse_datetime("2024-12-19T00:00:00Z")"#,
        &v,
    )
    .expect("runs");
    assert_eq!(out.value, Value::Bool(true));
}

#[test]
fn sleep_refuses_at_once() {
    let err = run(
        ScriptKind::Script,
        "let x = 1;\nsleep(30);",
        &Variables::new(),
    )
    .expect_err("sleep refuses");
    assert!(err.message.contains("sleep is not available"), "{err}");
    assert_eq!(err.line, Some(2));
}

#[test]
fn a_map_of_big_strings_is_written_back_and_left_to_the_engine_to_bound() {
    // Rhai bounds each string; the engine bounds what a script may write
    // (millrace_engine::value::check_variables), so the writes come back
    // whole and the engine refuses them with the variable named.
    let out = run(
        ScriptKind::Script,
        "let s = \"x\"; s.pad(100000, 'x'); let m = #{}; for i in 0..20 { m[\"k\" + i] = s; }",
        &Variables::new(),
    )
    .expect("runs");
    let refused = millrace_engine::value::check_variables(out.writes.iter().map(|(k, v)| (k, v)));
    assert_eq!(refused.map_err(|e| e.path), Err("m".to_string()));
}
