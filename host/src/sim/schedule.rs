//! The timer queue: tasks keyed by virtual time, then by kind, then by the
//! series, host or group they concern, so tasks at the same instant always run
//! in the same order.
//!
//! A fleet's tasks bunch up at few instants (every host reports at the same
//! beat), so the queue keeps one entry per instant, and in it one queue per
//! kind: a task joins at the back when it comes in order, as nearly all do,
//! which costs no more than a push, and leaves from the front.

use std::collections::{BTreeMap, VecDeque};

use super::clock::VirtualTime;
use super::ids::{GroupIndex, HostId, SeriesId};

/// What to do at an instant. The order of the variants is the order in which
/// tasks at the same instant run: a host that expires does not step or report at
/// that instant; a metric reports the value it stepped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Task {
    ExpireHost(HostId),
    Deactivate(SeriesId),
    Activate(SeriesId),
    Step(SeriesId),
    StepGroup(GroupIndex),
    Report(HostId),
}

/// Kinds of [`Task`], one queue each per instant.
const KINDS: usize = 6;

impl Task {
    /// Its variant's place in the running order.
    fn kind(self) -> usize {
        match self {
            Task::ExpireHost(_) => 0,
            Task::Deactivate(_) => 1,
            Task::Activate(_) => 2,
            Task::Step(_) => 3,
            Task::StepGroup(_) => 4,
            Task::Report(_) => 5,
        }
    }
}

/// The tasks of one instant, by kind, each kind's in [`Task`] order.
#[derive(Debug, Default)]
struct Due {
    kinds: [VecDeque<Task>; KINDS],
}

impl Due {
    fn add(&mut self, task: Task) {
        let queue = &mut self.kinds[task.kind()];
        if queue.back().is_none_or(|last| *last <= task) {
            queue.push_back(task);
        } else {
            let at = queue.partition_point(|queued| *queued <= task);
            queue.insert(at, task);
        }
    }

    fn first(&self) -> Option<Task> {
        self.kinds.iter().find_map(|queue| queue.front().copied())
    }

    fn pop(&mut self) -> Option<Task> {
        self.kinds.iter_mut().find_map(VecDeque::pop_front)
    }

    fn is_empty(&self) -> bool {
        self.kinds.iter().all(VecDeque::is_empty)
    }
}

#[derive(Debug, Default)]
pub struct Schedule {
    /// Instants with tasks (never an empty one).
    instants: BTreeMap<VirtualTime, Due>,
}

impl Schedule {
    pub fn at(&mut self, time: VirtualTime, task: Task) {
        self.instants.entry(time).or_default().add(task);
    }

    /// Time of the earliest task.
    pub fn next_time(&self) -> Option<VirtualTime> {
        self.instants.first_key_value().map(|(time, _)| *time)
    }

    /// The earliest task if it is due by `until`.
    pub fn pop_due(&mut self, until: VirtualTime) -> Option<(VirtualTime, Task)> {
        let mut earliest = self.instants.first_entry()?;
        let time = *earliest.key();
        if time > until {
            return None;
        }
        let task = earliest.get_mut().pop();
        if earliest.get().is_empty() {
            earliest.remove();
        }
        task.map(|task| (time, task))
    }

    /// The group step due at `time` that runs next, if the next task is one.
    pub fn pop_group_step_at(&mut self, time: VirtualTime) -> Option<GroupIndex> {
        let mut earliest = self.instants.first_entry()?;
        if *earliest.key() != time {
            return None;
        }
        let Some(Task::StepGroup(group)) = earliest.get().first() else {
            return None;
        };
        earliest.get_mut().pop();
        if earliest.get().is_empty() {
            earliest.remove();
        }
        Some(group)
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.instants.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_run_by_time_then_kind_then_what_they_concern() {
        let ms = VirtualTime::from_millis;
        let mut schedule = Schedule::default();
        schedule.at(ms(10), Task::Report(HostId::new(0)));
        schedule.at(ms(10), Task::Step(SeriesId::new(2)));
        schedule.at(ms(5), Task::Step(SeriesId::new(9)));
        schedule.at(ms(10), Task::Step(SeriesId::new(1)));
        schedule.at(ms(10), Task::ExpireHost(HostId::new(3)));
        let mut order = Vec::new();
        while let Some((time, task)) = schedule.pop_due(ms(10)) {
            order.push((time.as_millis(), task));
        }
        assert_eq!(
            order,
            [
                (5, Task::Step(SeriesId::new(9))),
                (10, Task::ExpireHost(HostId::new(3))),
                (10, Task::Step(SeriesId::new(1))),
                (10, Task::Step(SeriesId::new(2))),
                (10, Task::Report(HostId::new(0)))
            ]
        );
        assert!(schedule.is_empty());
    }

    #[test]
    fn a_task_added_out_of_order_still_runs_in_order() {
        let ms = VirtualTime::from_millis;
        let mut schedule = Schedule::default();
        for series in [1, 5, 3, 5, 0] {
            schedule.at(ms(10), Task::Activate(SeriesId::new(series)));
        }
        schedule.at(ms(10), Task::StepGroup(GroupIndex::new(2)));
        schedule.at(ms(10), Task::StepGroup(GroupIndex::new(1)));
        let (time, first) = schedule.pop_due(ms(10)).expect("due");
        assert_eq!(
            (time.as_millis(), first),
            (10, Task::Activate(SeriesId::new(0)))
        );
        assert_eq!(
            schedule.pop_group_step_at(ms(10)),
            None,
            "activations come first"
        );
        let activated: Vec<Task> = (0..4)
            .map(|_| schedule.pop_due(ms(10)).expect("due").1)
            .collect();
        assert_eq!(
            activated,
            [1, 3, 5, 5].map(|series| Task::Activate(SeriesId::new(series)))
        );
        assert_eq!(
            schedule.pop_group_step_at(ms(9)),
            None,
            "not at another instant"
        );
        assert_eq!(schedule.pop_group_step_at(ms(10)), Some(GroupIndex::new(1)));
        assert_eq!(schedule.pop_group_step_at(ms(10)), Some(GroupIndex::new(2)));
        assert!(schedule.is_empty());
    }
}
