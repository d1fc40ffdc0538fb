//! Listing: which files there are to read.
//!
//! Against S3 each listing is a round trip, and an organization trail needs
//! a few for every account and region folder, so listings are kept in
//! flight side by side, as many as the store says it serves well. Regions
//! are listed day by day, only as far as the keys' windows reach, and each
//! region's files join the inputs as soon as those before it are in.

use std::time::Duration;

use super::ScanParams;
use super::parallel::side_by_side;
use super::tally::Tally;
use crate::error::{Error, Result};
use crate::source::bundle::BundleStore;
use crate::source::layout::{Catalog, RegionRoot};
use crate::source::local::LocalStore;
use crate::source::s3::S3Store;
use crate::source::{Entry, Input, ListError, Listing, PassedOver, SourceSpec, Store};
use crate::time::Span;

pub(super) fn source_error(store: &dyn Store, rel: &str, reason: &str) -> Error {
    Error::Source {
        source_name: store.display(rel),
        reason: reason.to_owned(),
    }
}

/// Opens every source and discovers its layout: the folders outside it are
/// listed whole, the regions inside it only as a window needs them.
pub(super) fn open_sources(
    sources: &[SourceSpec],
    params: &ScanParams,
) -> Result<(Vec<Box<dyn Store>>, Catalog)> {
    let mut stores: Vec<Box<dyn Store>> = Vec::new();
    let mut catalog = Catalog::default();
    for spec in sources {
        let idx = stores.len();
        let fatal = |reason: String| Error::Source {
            source_name: spec.to_string(),
            reason,
        };
        match spec {
            SourceSpec::Local(path) => {
                let (store, file) = LocalStore::open(path).map_err(|e| fatal(e.0))?;
                match file {
                    Some(rel) => {
                        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                        catalog.free.extend(Input::from_entries(
                            idx,
                            vec![Entry { rel, size }],
                            |_| Span::ALL,
                        ));
                    }
                    None => catalog
                        .discover(&store, idx, "", params.delivery_margin, &|dirs| {
                            list_level(&store, dirs)
                        })
                        .map_err(|e| fatal(e.0))?,
                }
                stores.push(Box::new(store));
            }
            SourceSpec::S3(url) => {
                let store = S3Store::connect(url, &params.s3).map_err(|e| fatal(e.0))?;
                catalog
                    .discover(&store, idx, &url.prefix, params.delivery_margin, &|dirs| {
                        list_level(&store, dirs)
                    })
                    .map_err(|e| fatal(e.0))?;
                stores.push(Box::new(store));
            }
        }
    }
    Ok((stores, catalog))
}

/// Lists the day folders `window` needs in every region, adding their files
/// to `inputs` in region order.
///
/// Each region's files join `inputs` as soon as the regions before it are in:
/// holding every region's listing until the last is done would double the
/// memory the listing needs, which grows with the archive.
pub(super) fn expand_regions(
    regions: &mut [RegionRoot],
    stores: &[Box<dyn Store>],
    window: Span,
    margin: Duration,
    inputs: &mut Vec<Input>,
    tally: &mut Tally,
) -> Result<()> {
    let listers = stores.iter().map(|s| s.listers()).max().unwrap_or(1);
    let mut first_error = Ok(());
    side_by_side(
        regions.iter_mut(),
        listers,
        |region| {
            let store = stores[region.store()].as_ref();
            region
                .expand(store, window, margin)
                .map_err(|e| source_error(store, "", &e.0))
        },
        |expansion| match expansion {
            Ok(found) => {
                inputs.extend(found.inputs);
                for p in found.passed_over {
                    tally.passed_over(p);
                }
            }
            Err(e) => {
                if first_error.is_ok() {
                    first_error = Err(e);
                }
            }
        },
    );
    first_error
}

/// Opens the bundles the last pass found, in name order, and adds their
/// members to `inputs` (and their region folders to the catalog) as a
/// folder's files would be. A bundle that cannot be opened is skipped, with
/// why.
pub(super) fn open_bundles(
    stores: &mut Vec<Box<dyn Store>>,
    catalog: &mut Catalog,
    inputs: &mut Vec<Input>,
    tally: &mut Tally,
    margin: Duration,
) {
    let mut found = std::mem::take(&mut tally.bundles);
    found.sort_by(|a, b| a.name.cmp(&b.name));
    for b in found {
        let store = match BundleStore::open(b.file, b.kind, b.name.to_string()) {
            Ok(store) => store,
            Err(reason) => {
                tally.passed_over(PassedOver {
                    name: b.name.to_string(),
                    reason,
                    failure: true,
                });
                continue;
            }
        };
        let idx = stores.len();
        let mut found = Catalog::default();
        // A bundle's listings are in memory and never fail.
        let _ = found.discover(&store, idx, "", margin, &|dirs| list_level(&store, dirs));
        for p in std::mem::take(&mut found.passed_over) {
            tally.passed_over(p);
        }
        inputs.append(&mut found.free);
        catalog.regions.append(&mut found.regions);
        stores.push(Box::new(store));
    }
}

/// Lists one level of a walk of `store`, in the order given.
fn list_level(store: &dyn Store, dirs: &[String]) -> Vec<Result<Listing, ListError>> {
    let mut listings = Vec::with_capacity(dirs.len());
    side_by_side(
        dirs.iter(),
        store.listers(),
        |d| store.list_dir(d),
        |l| listings.push(l),
    );
    listings
}
