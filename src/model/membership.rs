//! Whether a workload is in the mesh: what the workload view records and the mesh facts
//! decide. Its own module so that `workload` and `mesh` need not import each other.

/// Whether and how a workload is in the mesh.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Membership {
    #[default]
    None,
    /// Gets (or has) a sidecar from `revision` (a tag already resolved to its revision);
    /// `requested` is what the labels asked for.
    Sidecar {
        revision: String,
        requested: String,
    },
    Ambient,
}

impl Membership {
    pub fn is_meshed(&self) -> bool {
        !matches!(self, Membership::None)
    }

    pub fn sidecar_revision(&self) -> Option<&str> {
        match self {
            Membership::Sidecar { revision, .. } => Some(revision),
            _ => None,
        }
    }
}
