//! Paths filters (performance only, model.md §4): which mounts and namespaces a primary ships to each
//! performance secondary, and the dynamic filters computed from them.

use super::operator::Command;
use super::Cluster;
use crate::error::{Error, Result};
use crate::ids::{Kind, Mode};
use crate::message::{Message, Resync};
use crate::request::Side;
use crate::role::PrimaryRole;
use crate::step::Reply;
use crate::storage::{DynamicFilter, PathsFilter};

impl Cluster {
    fn perf_primary_for_filters(&self, command: Command) -> Result<&PrimaryRole> {
        self.require_mode(Kind::Performance, Mode::Primary, command)?;
        self.primary(Kind::Performance)
            .ok_or_else(|| self.mode_error(Kind::Performance, command))
    }

    pub(super) fn set_filter(&mut self, id: String, filter: PathsFilter) -> Result<Reply> {
        let p = self.perf_primary_for_filters(Command::PathsFilter)?;
        if !p.secondaries.contains_key(&id) {
            return Err(Error::NotFound(format!(
                "no performance secondary with id {id:?} is known to this primary; generate its token with performance/primary/secondary-token first"
            )));
        }
        for path in &filter.paths {
            if !path.ends_with('/') || path.starts_with('/') {
                return Err(Error::invalid(
                    "paths",
                    format!("path {path:?} must be a mount or namespace path ending in '/', like \"secret/\" or \"ns1/\""),
                ));
            }
        }
        let mut filter = filter;
        filter.paths.sort();
        filter.paths.dedup();
        self.filter_changed(id, Some(filter));
        Ok(Reply::Done)
    }

    /// Sets (or removes) secondary `id`'s filter; an accepted secondary diffs again so the change
    /// applies (newly excluded data is removed, newly included data arrives).
    fn filter_changed(&mut self, id: String, filter: Option<PathsFilter>) {
        let Some(entry) = self
            .primary_mut(Kind::Performance)
            .and_then(|p| p.secondaries.get_mut(&id))
        else {
            return;
        };
        entry.filter = filter;
        let revoked = entry.revoked;
        let addr = entry.link.as_mut().and_then(|l| {
            l.needs_diff = true;
            (!revoked).then(|| l.cluster_addr.clone())
        });
        if let Some(addr) = addr {
            if let Some(peer) = self
                .v
                .peers
                .get_mut(&Kind::Performance)
                .and_then(|m| m.get_mut(&id))
            {
                peer.shipping = None;
            }
            self.send(
                &addr,
                Message::Resync(Resync {
                    kind: Kind::Performance,
                }),
            );
        }
    }

    pub(super) fn read_filter(&self, id: &str) -> Result<Reply> {
        let p = self.perf_primary_for_filters(Command::PathsFilter)?;
        p.filter(id)
            .cloned()
            .map(Reply::Filter)
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "no paths filter is set for secondary {id:?}; create one with a POST to performance/primary/paths-filter/{id}"
                ))
            })
    }

    pub(super) fn delete_filter(&mut self, id: String) -> Result<Reply> {
        let p = self.perf_primary_for_filters(Command::PathsFilter)?;
        if p.filter(&id).is_none() {
            return Err(Error::NotFound(format!(
                "no paths filter is set for secondary {id:?}; nothing to delete"
            )));
        }
        self.filter_changed(id, None);
        Ok(Reply::Done)
    }

    /// Mounts and namespaces `filter` excludes from this cluster's mount table.
    pub(super) fn dynamic_for(&self, filter: Option<&PathsFilter>) -> DynamicFilter {
        let Some(f) = filter else {
            return DynamicFilter::default();
        };
        let mut mounts = vec![];
        let mut namespaces = std::collections::BTreeSet::new();
        for (m, local) in self.p.storage.mounts() {
            if !*local && !f.ships_mount(m) {
                mounts.push(m.clone());
                let segs: Vec<&str> = m.trim_end_matches('/').split('/').collect();
                for i in 1..segs.len() {
                    namespaces.insert(format!("{}/", segs[..i].join("/")));
                }
            }
        }
        DynamicFilter {
            mounts,
            namespaces: namespaces.into_iter().collect(),
        }
    }

    pub(super) fn dynamic_filter(&self, side: Side, id: &str) -> Result<Reply> {
        let filter = match side {
            Side::Primary => {
                let p = self.perf_primary_for_filters(Command::DynamicFilterPrimary)?;
                if !p.secondaries.contains_key(id) {
                    return Err(Error::NotFound(format!(
                        "no performance secondary with id {id:?} is known to this primary"
                    )));
                }
                self.dynamic_for(p.filter(id))
            }
            Side::Secondary => {
                self.require_mode(
                    Kind::Performance,
                    Mode::Secondary,
                    Command::DynamicFilterSecondary,
                )?;
                let s = self.secondary(Kind::Performance).ok_or_else(|| {
                    self.mode_error(Kind::Performance, Command::DynamicFilterSecondary)
                })?;
                let own = s.credentials.as_ref().map(|c| c.secondary_id.as_str());
                if own != Some(id) {
                    return Err(Error::NotFound(format!(
                        "this performance secondary's id is {}, not {id:?}",
                        own.map(|o| format!("{o:?}"))
                            .unwrap_or_else(|| "not set".into())
                    )));
                }
                s.dynamic_filter.clone()
            }
        };
        Ok(Reply::DynamicFilter(filter))
    }
}
