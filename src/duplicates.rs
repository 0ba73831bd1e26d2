//! Objects defined twice in one estate (SPEC §3a): same API group, kind, namespace and
//! name. Each is reported (an info note naming both places). The model keeps every copy and
//! checks each; where a rule looks an object up by kind, namespace and name (a Service's
//! ConfigMap, an istiod's mesh config) it takes the first in path order, and the note says
//! so, so that which copy counts is never decided silently.

use std::collections::HashMap;

use crate::load::files::{Loaded, Note};
use crate::model::{Object, Origin};

/// The estate an object belongs to: a kustomize overlay, or the loose files.
fn estate(o: &Object) -> Option<u32> {
    match o.origin {
        Origin::File { .. } => Some(u32::MAX),
        Origin::Built { estate, .. } => Some(estate),
        Origin::Cluster => None,
    }
}

/// The file and line where an object is written.
fn place(o: &Object) -> (usize, u32) {
    let file = match o.origin {
        Origin::File { file, .. } | Origin::Built { file, .. } => file as usize,
        Origin::Cluster => 0,
    };
    let root = o.root();
    let file = root.file().map_or(file, |f| f as usize);
    (file, root.span().start.line.max(1))
}

/// Notes each object defined more than once in an estate, naming both places.
pub fn resolve(loaded: &mut Loaded) {
    let mut first: HashMap<(u32, String, String, String, String), usize> = HashMap::new();
    let mut notes = Vec::new();
    for (i, o) in loaded.objects.iter().enumerate() {
        let Some(estate) = estate(o) else { continue };
        // Objects named by generateName get a fresh name each time: never duplicates.
        if o.root().str_at(&["metadata", "name"]).is_none() {
            continue;
        }
        let key = (
            estate,
            o.group().to_string(),
            o.kind().to_string(),
            o.namespace().to_string(),
            o.name().to_string(),
        );
        let earlier = *first.entry(key).or_insert(i);
        if earlier != i {
            let kept = &loaded.objects[earlier];
            let (kept_file, kept_line) = place(kept);
            let (file, line) = place(o);
            notes.push(Note {
                file: Some(file),
                line,
                message: format!(
                    "{} is defined twice in one estate, here and at {}:{kept_line}; both are checked, and rules that look it up by name use that first one (path order)",
                    o.display_name(),
                    loaded.files[kept_file].path,
                ),
            });
        }
    }
    loaded.notes.extend(notes);
}
