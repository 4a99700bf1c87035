//! The timer queue: tasks keyed by virtual time, then by kind, then by insertion
//! order, so tasks at the same instant always run in the same order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

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

#[derive(Debug, Default)]
pub struct Schedule {
    queue: BinaryHeap<Reverse<(VirtualTime, Task, u64)>>,
    inserted: u64,
}

impl Schedule {
    pub fn at(&mut self, time: VirtualTime, task: Task) {
        self.inserted += 1;
        self.queue.push(Reverse((time, task, self.inserted)));
    }

    /// Time of the earliest task.
    pub fn next_time(&self) -> Option<VirtualTime> {
        self.queue.peek().map(|Reverse((time, _, _))| *time)
    }

    /// The earliest task if it is due by `until`.
    pub fn pop_due(&mut self, until: VirtualTime) -> Option<(VirtualTime, Task)> {
        if self.next_time()? > until {
            return None;
        }
        self.queue
            .pop()
            .map(|Reverse((time, task, _))| (time, task))
    }

    /// The group step due at `time` that runs next, if the next task is one.
    pub fn pop_group_step_at(&mut self, time: VirtualTime) -> Option<GroupIndex> {
        match self.queue.peek() {
            Some(Reverse((due, Task::StepGroup(group), _))) if *due == time => {
                let group = *group;
                self.queue.pop();
                Some(group)
            }
            _ => None,
        }
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_run_by_time_then_kind_then_insertion() {
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
}
