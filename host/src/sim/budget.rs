//! Per-plugin CPU budgets: each scenario plugin may spend a share of one core
//! (wall time in its calls, restarts and nested scenarios included) per second of
//! virtual time. A plugin over its budget is throttled (its steps and event
//! deliveries are skipped, its series keep their values) until the budget has
//! refilled, so no plugin can hold the other plugins' series off their schedule
//! with calls that each stay under the deadline.

use std::time::Duration;

use super::clock::VirtualTime;

/// The budget of one plugin: a bucket of CPU seconds that fills at `share`
/// seconds per virtual second, up to `capacity`, and empties by what its calls
/// take. It may go into debt by one call (by one instant's group calls, which are
/// allowed together before they run); calls are made only while it is above 0.
#[derive(Debug)]
pub(super) struct CpuBudget {
    plugin: String,
    share: f64,
    capacity: f64,
    balance: f64,
    refilled_at: VirtualTime,
    /// Steps skipped in the current throttled spell; `None` while not throttled.
    spell: Option<u64>,
    /// Steps skipped in all.
    pub(super) skipped: u64,
}

impl CpuBudget {
    /// A full budget of `share` of a core for `plugin`, holding at most a
    /// second's worth (and never less than two calls of `call_deadline`).
    pub(super) fn new(plugin: &str, share: f64, call_deadline: Duration) -> Self {
        let capacity = share.max(2.0 * call_deadline.as_secs_f64());
        Self {
            plugin: plugin.to_string(),
            share,
            capacity,
            balance: capacity,
            refilled_at: VirtualTime::ZERO,
            spell: None,
            skipped: 0,
        }
    }

    /// Whether the plugin may be called at `now`; a refusal is counted as `steps`
    /// skipped steps.
    pub(super) fn allows(&mut self, now: VirtualTime, steps: u64) -> bool {
        let passed = now.saturating_sub(self.refilled_at).as_secs();
        self.balance = (self.balance + passed * self.share).min(self.capacity);
        self.refilled_at = now;
        if self.balance > 0.0 {
            if let Some(skipped) = self.spell.take() {
                tracing::info!(plugin = %self.plugin,
                    "back within its CPU budget at {now}; {skipped} steps were skipped");
            }
            return true;
        }
        if self.spell.is_none() {
            tracing::warn!(plugin = %self.plugin,
                "over its CPU budget ({} of a core per second of virtual time) at {now}: its steps are skipped until the budget refills (a plugin you trust with a large fleet may get more: --plugin-cpu-share, or cpu_share in plugin_limits)",
                self.share);
        }
        *self.spell.get_or_insert(0) += steps;
        self.skipped += steps;
        false
    }

    /// Takes what a call cost.
    pub(super) fn charge(&mut self, spent: Duration) {
        self.balance -= spent.as_secs_f64();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_over_its_share_waits_for_the_budget_to_refill() {
        let mut budget = CpuBudget::new("p", 0.5, Duration::from_millis(100));
        assert!(budget.allows(VirtualTime::ZERO, 1));
        budget.charge(Duration::from_millis(700));
        assert!(
            !budget.allows(VirtualTime::from_millis(100), 1),
            "0.5 - 0.7 + 0.05 < 0"
        );
        assert!(!budget.allows(VirtualTime::from_millis(300), 2));
        assert!(
            budget.allows(VirtualTime::from_millis(500), 1),
            "refilled by 0.25"
        );
        assert_eq!(budget.skipped, 3);
        budget.charge(Duration::from_millis(100));
        // A long quiet spell refills it to its capacity, no more.
        assert!(budget.allows(VirtualTime::from_millis(3_600_000), 1));
        budget.charge(Duration::from_millis(499));
        assert!(budget.allows(VirtualTime::from_millis(3_600_000), 1));
        budget.charge(Duration::from_millis(2));
        assert!(!budget.allows(VirtualTime::from_millis(3_600_000), 1));
    }
}
