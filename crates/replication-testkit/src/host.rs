//! The delivery loop and the deadline loop, written once for every host.

use replication_core::{Duration, Timestamp};

/// How many delivery rounds a settle may take before it is declared a livelock.
pub const SETTLE_LIMIT: usize = 200_000;

/// How many rounds of ticks an advance may run at one instant (deadlines that do not move past the
/// present) before it is declared a livelock.
pub const TIMER_ROUNDS_LIMIT: usize = 1_000;

/// What a host of clusters offers the loops: its clock, its clusters' deadlines, and delivery.
pub trait Host {
    /// The host's current (virtual) time.
    fn now(&self) -> Timestamp;
    /// Moves the clock (never backwards: the loops only move it forward).
    fn set_now(&mut self, now: Timestamp);
    /// The earliest deadline of a running cluster that is at or before `end`, if any.
    fn next_deadline(&self, end: Timestamp) -> Option<Timestamp>;
    /// Ticks every running cluster whose deadline is due now.
    fn tick_due(&mut self);
    /// Delivers one round of the messages in flight; false when nothing was in flight.
    fn deliver_round(&mut self) -> bool;
    /// The clock moved: messages held back until then go on their way (nothing by default).
    fn clock_moved(&mut self) {}
}

/// Delivers messages until none is left, without moving the clock. False when the network did not
/// go quiet within [`SETTLE_LIMIT`] rounds (a livelock).
pub fn settle(host: &mut impl Host) -> bool {
    for _ in 0..SETTLE_LIMIT {
        if !host.deliver_round() {
            return true;
        }
    }
    false
}

/// Lets `d` of virtual time pass: clusters tick at their deadlines, with the network settled in
/// between, and the clock ends at `now + d`. False on a livelock: the network did not go quiet, or
/// some cluster's deadline stopped moving (more than [`TIMER_ROUNDS_LIMIT`] rounds at one instant).
pub fn advance(host: &mut impl Host, d: Duration) -> bool {
    let end = host.now().plus(d);
    host.clock_moved();
    let mut quiet = settle(host);
    let mut rounds_now = 0;
    while let Some(t) = host.next_deadline(end) {
        if t <= host.now() {
            rounds_now += 1;
            if rounds_now > TIMER_ROUNDS_LIMIT {
                quiet = false;
                break;
            }
        } else {
            rounds_now = 0;
        }
        host.set_now(host.now().max(t));
        host.tick_due();
        host.clock_moved();
        if !settle(host) {
            quiet = false;
            break;
        }
    }
    host.set_now(end);
    settle(host) && quiet
}
