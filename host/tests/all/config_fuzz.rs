//! The config loader never panics, whatever it is fed: arbitrary text, TOML-shaped
//! text with arbitrary values, arbitrary `--config-args`.

use proptest::prelude::*;

use promemu::configs::ConfigError;
use promemu::model::validate;

fn load(text: &str, args: &[(String, String)]) -> Result<(), ConfigError> {
    let config = promemu::configs::load_toml_text("fuzz.toml", text, args)?;
    let _ = validate(&config);
    Ok(())
}

/// A value that is sometimes valid and often not.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| format!("{n:?}")),
        "[a-z0-9 ]{0,8}".prop_map(|text| format!("\"{text}\"")),
        "\"[0-9]{1,4}(ms|s|m|h|x)?\"",
        Just("\"inf\"".to_string()),
        Just("[1, -1]".to_string()),
        Just("{}".to_string()),
        "\"w-\\{i:0?[0-9]{1,12}\\}\"",
        prop_oneof![0u32..3000, Just(1_000_001), Just(u32::MAX)].prop_map(|n| n.to_string()),
        Just("\"${n}\"".to_string()),
        Just("${n}".to_string()),
        "[^\n]{0,12}",
    ]
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("name"),
        Just("count"),
        Just("ttl"),
        Just("interval"),
        Just("job_name"),
        Just("labels"),
        Just("value_range"),
        Just("default_value"),
        Just("update_interval"),
        Just("start_time"),
        Just("duration"),
        Just("scenario"),
        Just("scenario_data"),
        Just("kind"),
        Just("buckets"),
        Just("listen_events"),
        Just("push_interval"),
        Just("fault_policy"),
        Just("bogus"),
    ]
    .prop_map(String::from)
}

fn toml_shaped() -> impl Strategy<Value = String> {
    let line = (field(), value()).prop_map(|(field, value)| format!("{field} = {value}"));
    let section = prop_oneof![
        Just("[[hosts]]"),
        Just("[[hosts.metrics]]"),
        Just("[args]"),
        Just("[plugin_limits.\"x.wasm\"]"),
        Just("[hosts"),
    ]
    .prop_map(String::from);
    proptest::collection::vec(prop_oneof![3 => line, 1 => section], 0..24)
        .prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let _ = load(&text, &[]);
    }

    #[test]
    fn toml_shaped_text_never_panics(text in toml_shaped(), arg in "[a-z]{1,3}", arg_value in "[^\n]{0,6}") {
        let _ = load(&text, &[]);
        let _ = load(&text, &[(arg, arg_value)]);
        let _ = load(&format!("[args]\nn = 2\n{text}"), &[("n".into(), "3".into())]);
    }
}
