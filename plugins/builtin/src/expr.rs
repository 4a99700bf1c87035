//! Arithmetic expressions over named variables, the stand-in for the original's
//! Python callables. Parsed once at creation (so a typo is a creation error that
//! names the unknown variable), evaluated per step.

use evalexpr::{ContextWithMutableVariables, HashMapContext, Node, Value};

/// A parsed expression and the variables it may use.
pub struct Expression {
    tree: Node,
}

impl Expression {
    /// Parses `text` for `owner`, allowing only the variables in `allowed`.
    pub fn parse(owner: &str, text: &str, allowed: &[&str]) -> Result<Self, String> {
        let tree = evalexpr::build_operator_tree(text)
            .map_err(|err| format!("{owner}: cannot parse expression '{text}': {err}"))?;
        if let Some(unknown) = tree.iter_variable_identifiers().find(|name| !allowed.contains(name)) {
            return Err(format!(
                "{owner}: expression '{text}' uses unknown variable '{unknown}'; available: {}",
                allowed.join(", ")
            ));
        }
        Ok(Self { tree })
    }

    /// Evaluates with the given variable values; `None` when the result is not a
    /// number (for example a division of integers by zero).
    pub fn eval(&self, variables: &[(&str, f64)]) -> Option<f64> {
        let mut context = HashMapContext::new();
        for (name, value) in variables {
            context.set_value((*name).to_string(), Value::Float(*value)).ok()?;
        }
        self.tree.eval_number_with_context(&context).ok()
    }
}

/// The variables every expression in this pack may use, besides its own extras.
pub const COMMON_VARIABLES: &[&str] = &["value", "min", "max", "default", "elapsed", "time"];

/// Values of [`COMMON_VARIABLES`] for a step.
pub fn common_values(ctx: &crate::Ctx<'_>) -> [(&'static str, f64); 6] {
    [
        ("value", ctx.value),
        ("min", ctx.info.min),
        ("max", ctx.info.max),
        ("default", ctx.info.default_value),
        ("elapsed", ctx.elapsed),
        ("time", ctx.time),
    ]
}
