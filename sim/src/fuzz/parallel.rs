//! Runs of a campaign on several threads, handed on in run order: the output of a campaign is the
//! same byte for byte on one core or many, because every run depends only on (seed, run number) and
//! results are consumed in order.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};

/// Runs `work` on every item of `items` with `jobs` threads and hands each result to `each` in item
/// order. When `each` returns false the campaign stops: no later item is started, and results of
/// later items already running are dropped. With one job everything runs on the calling thread.
pub fn in_order<L, I, T>(
    items: L,
    jobs: usize,
    work: impl Fn(&I) -> T + Sync,
    mut each: impl FnMut(I, T) -> bool,
) where
    L: IntoIterator<Item = I>,
    L::IntoIter: Send,
    I: Send,
    T: Send,
{
    if jobs <= 1 {
        for item in items {
            let result = work(&item);
            if !each(item, result) {
                return;
            }
        }
        return;
    }
    let queue = Mutex::new(items.into_iter().enumerate());
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, I, T)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (queue, stop, work) = (&queue, &stop, &work);
            scope.spawn(move || loop {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let next = queue.lock().map(|mut q| q.next()).unwrap_or(None);
                let Some((i, item)) = next else {
                    return;
                };
                let result = work(&item);
                if tx.send((i, item, result)).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        let mut waiting: BTreeMap<usize, (I, T)> = BTreeMap::new();
        let mut next = 0;
        for (i, item, result) in rx.iter() {
            waiting.insert(i, (item, result));
            while let Some((item, result)) = waiting.remove(&next) {
                next += 1;
                if !each(item, result) {
                    stop.store(true, Ordering::Relaxed);
                    return;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::in_order;

    /// Results come in item order whatever the threads' timing, and a stop ends the campaign there.
    #[test]
    fn results_arrive_in_order_and_stop_where_asked() {
        for jobs in [1, 2, 4] {
            let mut seen = vec![];
            in_order(
                0..200u64,
                jobs,
                |n| {
                    // Uneven work, so later items often finish first.
                    std::thread::sleep(std::time::Duration::from_micros((n * 7919) % 300));
                    n * n
                },
                |n, sq| {
                    assert_eq!(sq, n * n);
                    seen.push(n);
                    n < 150
                },
            );
            assert_eq!(seen, (0..=150).collect::<Vec<_>>(), "{jobs} jobs");
        }
    }
}
