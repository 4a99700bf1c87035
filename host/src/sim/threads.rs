//! Work on plugin instances spread over threads: each instance's work stays
//! on one thread and in order, the busiest instances go first, each to the
//! least loaded thread. Who runs where never changes what the work gives.

use crate::plugin::PluginInstance;

/// Runs `work` on every instance whose load (in `loads`, by instance) is not
/// zero, on up to `threads` threads (the calling one included); returns each
/// one's result by instance (`None` where there was no work).
pub(super) fn on_threads<R: Send>(
    instances: &mut [PluginInstance],
    loads: &[usize],
    threads: usize,
    work: impl Fn(usize, &mut PluginInstance) -> R + Sync,
) -> Vec<Option<R>> {
    let busy = loads.iter().filter(|&&load| load > 0).count();
    let threads = threads.min(busy).max(1);
    let thread_of = spread(loads, threads);
    let mut shares: Vec<Vec<(usize, &mut PluginInstance)>> =
        (0..threads).map(|_| Vec::new()).collect();
    for ((index, instance), thread) in instances.iter_mut().enumerate().zip(thread_of) {
        if loads.get(index).is_some_and(|&load| load > 0) {
            shares[thread].push((index, instance));
        }
    }
    let run = |share: Vec<(usize, &mut PluginInstance)>| -> Vec<(usize, R)> {
        share
            .into_iter()
            .map(|(index, instance)| (index, work(index, instance)))
            .collect()
    };
    let mut shares = shares.into_iter();
    let here = shares.next().unwrap_or_default();
    let done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let others: Vec<_> = shares.map(|share| scope.spawn(|| run(share))).collect();
        let mut done = run(here);
        for other in others {
            done.extend(other.join().expect("a plugin instance's thread panicked"));
        }
        done
    });
    let mut results: Vec<Option<R>> = (0..instances.len()).map(|_| None).collect();
    for (index, result) in done {
        results[index] = Some(result);
    }
    results
}

/// The thread (of `threads`) each instance's work goes to: the busiest
/// instances first, each to the least loaded thread.
fn spread(loads: &[usize], threads: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..loads.len()).collect();
    order.sort_by_key(|&instance| std::cmp::Reverse(loads[instance]));
    let mut thread_of = vec![0; loads.len()];
    let mut thread_loads = vec![0; threads.max(1)];
    for instance in order {
        let lightest = (0..thread_loads.len())
            .min_by_key(|&thread| thread_loads[thread])
            .unwrap_or(0);
        thread_loads[lightest] += loads[instance];
        thread_of[instance] = lightest;
    }
    thread_of
}
