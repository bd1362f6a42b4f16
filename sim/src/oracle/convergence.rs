//! Rule: once faults stop and the network heals, every connected secondary converges to its primary's
//! data (and `merkle_root`) for that kind (model.md §6). Checked on a healed, settled world.

use super::Violation;
use crate::world::World;
use replication_core::{DataClass, Kind, Mode};
use std::collections::BTreeMap;

/// Checks every running secondary whose primary is running and still knows it.
pub fn check(world: &World) -> Vec<Violation> {
    let mut out = vec![];
    for (name, node) in &world.nodes {
        if !node.up {
            continue;
        }
        let s = &node.cluster();
        for kind in Kind::ALL {
            if s.mode(kind) != Mode::Secondary {
                continue;
            }
            let Some(role) = s.inspect(kind).secondary() else {
                continue;
            };
            let Some(secondary_id) = role.secondary_id() else {
                continue;
            };
            let Some(addr) = role.known_primary_cluster_addrs().first() else {
                continue;
            };
            let Some(pname) = world.resolve(addr) else {
                continue;
            };
            let Some(pnode) = world.nodes.get(pname).filter(|n| n.up) else {
                continue;
            };
            let p = &pnode.cluster();
            let Some(prole) = p.inspect(kind).primary() else {
                continue;
            };
            if p.mode(kind) != Mode::Primary || prole.cluster_id() != role.cluster_id() {
                continue;
            }
            // Connected: the primary's record of this identity points at this cluster. Two clusters
            // can hold one identity (a DR secondary promoted while its old primary still runs); the
            // primary streams to one of them at a time.
            match prole.secondary(secondary_id) {
                Some(r) if !r.revoked() && r.cluster_addr() == s.config().cluster_addr => {}
                _ => continue,
            }
            let filter = match kind {
                Kind::Performance => prole.filter(secondary_id),
                Kind::Dr => None,
            };
            let shipped: BTreeMap<&String, &String> = p
                .storage()
                .entries()
                .filter(|(k, e)| p.storage().ships(kind, filter, k, e))
                .map(|(k, e)| (k, &e.value))
                .collect();
            let held: BTreeMap<&String, &String> = s
                .storage()
                .entries()
                .filter(|(_, e)| kind == Kind::Dr || e.class == DataClass::Replicated)
                .map(|(k, e)| (k, &e.value))
                .collect();
            let mut detail = vec![];
            if shipped != held {
                let missing = shipped
                    .keys()
                    .filter(|k| held.get(*k) != shipped.get(*k))
                    .count();
                let extra = held.keys().filter(|k| !shipped.contains_key(*k)).count();
                detail.push(format!(
                    "{missing} keys missing or different, {extra} extra (state {})",
                    s.secondary_state(kind).map(|x| x.as_str()).unwrap_or("?")
                ));
            }
            let corrupted = p.storage().index_corrupted() || s.storage().index_corrupted();
            if filter.is_none()
                && !corrupted
                && p.storage().merkle_root(kind) != s.storage().merkle_root(kind)
            {
                detail.push("merkle_root differs".into());
            }
            if !detail.is_empty() {
                out.push(Violation::NotConverged {
                    secondary: name.clone(),
                    primary: pname.to_string(),
                    kind,
                    detail: detail.join("; "),
                });
            }
        }
    }
    out
}
