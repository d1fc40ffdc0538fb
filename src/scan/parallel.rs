//! The one way keytrail runs work side by side.
//!
//! Two kinds of work are parallel, for two reasons: reading files keeps
//! every core busy inflating and splitting, and listing S3 folders keeps
//! round trips in flight. Both go through [`workers`], scoped threads that
//! end before it returns, so nothing outlives the pass that started it;
//! [`side_by_side`] adds putting results back in order.
//! With one worker the work runs on the caller's thread: a thread of its own
//! would gain nothing and leave its malloc arena behind (3 MB of peak RSS).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Runs `work` on `n` threads at once and returns when every one is done.
/// Each call of `work` is expected to pull its items from a shared queue. A
/// thread the system refuses to start is not an error: the queue is then
/// drained by those that did start, or by this thread.
pub(super) fn workers(n: usize, work: impl Fn() + Sync) {
    if n <= 1 {
        work();
        return;
    }
    let work = &work;
    std::thread::scope(|scope| {
        let started = (0..n)
            .filter(|_| {
                std::thread::Builder::new()
                    .spawn_scoped(scope, work)
                    .is_ok()
            })
            .count();
        if started == 0 {
            work();
        }
    });
}

/// Runs `list` on every item, `listers` at once, and hands the results to
/// `each` in item order, each as soon as those before it are in. `each`
/// runs on whichever lister completes the next result in order, one call at
/// a time.
pub(super) fn side_by_side<T: Send, R: Send>(
    items: impl ExactSizeIterator<Item = T> + Send,
    listers: usize,
    list: impl Fn(T) -> R + Sync,
    each: impl FnMut(R) + Send,
) {
    /// Results that came in before one ahead of them, by position; the
    /// position due next; and where results go.
    struct InOrder<R, F> {
        early: BTreeMap<usize, R>,
        due: usize,
        each: F,
    }
    let next = Mutex::new(items.enumerate());
    let listers = listers.min(lock(&next).len());
    let in_order = Mutex::new(InOrder {
        early: BTreeMap::new(),
        due: 0,
        each,
    });
    workers(listers, || {
        loop {
            // Taken in a statement of its own: a `while let` would hold the
            // lock through the listing, one at a time.
            let taken = lock(&next).next();
            let Some((i, item)) = taken else {
                break;
            };
            let r = list(item);
            let mut guard = lock(&in_order);
            let o = &mut *guard;
            o.early.insert(i, r);
            while let Some(r) = o.early.remove(&o.due) {
                (o.each)(r);
                o.due += 1;
            }
        }
    });
}

/// Locks `m`; a worker that panicked cannot leave the data half-written in a
/// way that matters here, so poisoning is ignored.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::{side_by_side, workers};

    #[test]
    fn side_by_side_keeps_item_order() {
        let slow_first = |i: u32| {
            std::thread::sleep(std::time::Duration::from_millis(u64::from(40 - i) % 7));
            i * 2
        };
        let collect = |items: std::ops::Range<u32>, listers| {
            let mut out = Vec::new();
            side_by_side(items, listers, slow_first, |r| out.push(r));
            out
        };
        for listers in [1, 16] {
            assert_eq!(
                collect(0..40, listers),
                (0..40).map(|i| i * 2).collect::<Vec<_>>()
            );
            assert!(collect(0..0, listers).is_empty());
        }
    }

    #[test]
    fn side_by_side_lists_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let list = |_| {
            most.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(20));
            now.fetch_sub(1, Ordering::SeqCst);
        };
        side_by_side(0..8, 4, list, |()| {});
        assert!(most.load(Ordering::SeqCst) > 1);
    }

    #[test]
    fn workers_run_at_once_and_all_finish() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        for n in [1, 2, 4] {
            let (now, most, done) = (
                AtomicUsize::new(0),
                AtomicUsize::new(0),
                AtomicUsize::new(0),
            );
            workers(n, || {
                most.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(20));
                now.fetch_sub(1, Ordering::SeqCst);
                done.fetch_add(1, Ordering::SeqCst);
            });
            assert_eq!(done.load(Ordering::SeqCst), n);
            assert_eq!(most.load(Ordering::SeqCst) > 1, n > 1);
        }
    }
}
