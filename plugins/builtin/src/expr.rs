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
        if let Some(unknown) = tree
            .iter_variable_identifiers()
            .find(|name| !allowed.contains(name))
        {
            return Err(format!(
                "{owner}: expression '{text}' uses unknown variable '{unknown}'; available: {}",
                allowed.join(", ")
            ));
        }
        let expression = Self { tree };
        // evalexpr accepts some malformed input (a dangling operator) until it is
        // evaluated; a trial evaluation turns that into a creation error.
        let trial: Vec<(&str, f64)> = allowed.iter().map(|name| (*name, 1.0)).collect();
        if let Err(err) = expression.try_eval(&trial) {
            return Err(format!(
                "{owner}: cannot evaluate expression '{text}': {err}"
            ));
        }
        Ok(expression)
    }

    fn try_eval(&self, variables: &[(&str, f64)]) -> Result<f64, evalexpr::EvalexprError> {
        let mut context = HashMapContext::new();
        for (name, value) in variables {
            context.set_value((*name).to_string(), Value::Float(*value))?;
        }
        self.tree.eval_number_with_context(&context)
    }

    /// Evaluates with the given variable values; `None` when the result is not a
    /// number (for example a division of integers by zero).
    pub fn eval(&self, variables: &[(&str, f64)]) -> Option<f64> {
        self.try_eval(variables).ok()
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
