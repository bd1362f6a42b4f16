//! Runs of a campaign on several threads, handed on in run order: the output of a campaign is the
//! same byte for byte on one core or many, because every run depends only on (seed, run number) and
//! results are consumed in order.

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};

/// Runs `work` on every item of `items` with `jobs` threads and hands each result to `each` in item
/// order. When `each` returns false the campaign stops: no later item is started, and results of
/// later items already running are dropped. A result for which `ends` is true (a failing run) stops
/// the workers from starting items after it at once, before `each` even sees it (so they do not
/// compete with what `each` does with it, shrinking say). A panic in `work` is raised again on the
/// calling thread when its item's turn comes. With one job everything runs on the calling thread.
pub fn in_order<L, I, T>(
    items: L,
    jobs: usize,
    work: impl Fn(&I) -> T + Sync,
    ends: impl Fn(&T) -> bool + Sync,
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
    // No item after this index is started (usize::MAX: no end known yet).
    let last = AtomicUsize::new(usize::MAX);
    let (tx, rx) = mpsc::channel::<(usize, I, std::thread::Result<T>)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (queue, last, work, ends) = (&queue, &last, &work, &ends);
            scope.spawn(move || loop {
                let next = queue.lock().map(|mut q| q.next()).unwrap_or(None);
                let Some((i, item)) = next else {
                    return;
                };
                if i > last.load(Ordering::SeqCst) {
                    return;
                }
                let result = panic::catch_unwind(AssertUnwindSafe(|| work(&item)));
                if result.as_ref().map_or(true, ends) {
                    last.fetch_min(i, Ordering::SeqCst);
                }
                if tx.send((i, item, result)).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        let mut waiting: BTreeMap<usize, (I, std::thread::Result<T>)> = BTreeMap::new();
        let mut next = 0;
        for (i, item, result) in rx.iter() {
            waiting.insert(i, (item, result));
            while let Some((item, result)) = waiting.remove(&next) {
                next += 1;
                let result = result.unwrap_or_else(|payload| panic::resume_unwind(payload));
                if !each(item, result) {
                    last.fetch_min(next - 1, Ordering::SeqCst);
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
                |sq| *sq == 150 * 150,
                |n, sq| {
                    assert_eq!(sq, n * n);
                    seen.push(n);
                    n < 150
                },
            );
            assert_eq!(seen, (0..=150).collect::<Vec<_>>(), "{jobs} jobs");
        }
    }

    /// An item that ends the campaign keeps the workers from starting much after it.
    #[test]
    fn an_ending_result_stops_new_work() {
        let started = std::sync::atomic::AtomicU64::new(0);
        in_order(
            0..10_000u64,
            2,
            |n| {
                started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                *n
            },
            |n| *n == 10,
            |n, _| n < 10,
        );
        let started = started.into_inner();
        assert!(
            started < 100,
            "{started} items started after the end at item 10"
        );
    }

    /// A panic in the work is raised on the calling thread, with its message.
    #[test]
    fn a_panic_in_the_work_reaches_the_caller() {
        let caught = std::panic::catch_unwind(|| {
            in_order(
                0..50u64,
                2,
                |n| assert!(*n != 7, "item seven"),
                |_| false,
                |_, _| true,
            );
        });
        let payload = caught.expect_err("the panic is raised again");
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        assert!(message.contains("item seven"), "{message}");
    }
}
