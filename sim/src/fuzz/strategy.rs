//! Public proptest strategies for topologies and event schedules, so other property-test suites can
//! drive this simulator (or their own implementation through the same events).

use super::event::{FuzzEvent, KEYS, MOUNTS};
use super::RunParams;
use proptest::prelude::*;

/// Run parameters: 2-6 clusters, any kind mix, fault mix, write rate, buffer and heartbeat.
pub fn topology() -> impl Strategy<Value = RunParams> {
    (
        any::<u64>(),
        2usize..=6,
        prop::sample::select(vec![0u8, 30, 50, 70, 100]),
        0u8..3,
        20u8..60,
        prop::sample::select(vec![2usize, 4, 16, 64]),
        prop::sample::select(vec![1u64, 5, 10]),
    )
        .prop_map(
            |(seed, clusters, performance_pct, fault_mix, write_rate, buffer, heartbeat_secs)| {
                RunParams {
                    run: 0,
                    seed,
                    clusters,
                    performance_pct,
                    fault_mix,
                    write_rate,
                    buffer,
                    heartbeat_secs,
                }
            },
        )
}

/// One abstract event.
pub fn event() -> impl Strategy<Value = FuzzEvent> {
    let c = 0u8..6;
    let m = 0u8..MOUNTS.len() as u8;
    let k = 0u8..KEYS;
    prop_oneof![
        6 => (c.clone(), m.clone(), k.clone()).prop_map(|(cluster, mount, key)| FuzzEvent::Write { cluster, mount, key }),
        2 => (c.clone(), m.clone(), k.clone()).prop_map(|(cluster, mount, key)| FuzzEvent::Delete { cluster, mount, key }),
        1 => (c.clone(), m, k).prop_map(|(cluster, mount, key)| FuzzEvent::Read { cluster, mount, key }),
        6 => (c.clone(), any::<bool>(), any::<u8>(), any::<bool>()).prop_map(|(cluster, performance, choice, flag)| FuzzEvent::Operator { cluster, performance, choice, flag }),
        4 => (200u32..20_000).prop_map(|millis| FuzzEvent::Advance { millis }),
        1 => any::<u8>().prop_map(|mask| FuzzEvent::Partition { mask }),
        1 => Just(FuzzEvent::Heal),
        1 => c.clone().prop_map(|cluster| FuzzEvent::Crash { cluster }),
        1 => c.clone().prop_map(|cluster| FuzzEvent::Restart { cluster }),
        1 => (c, any::<u8>()).prop_map(|(cluster, choice)| FuzzEvent::Garbage { cluster, choice }),
    ]
}

/// A schedule of up to `max` events (shrinks by dropping events).
pub fn schedule(max: usize) -> impl Strategy<Value = Vec<FuzzEvent>> {
    prop::collection::vec(event(), 0..=max)
}
