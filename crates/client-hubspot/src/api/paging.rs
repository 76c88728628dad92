//! Streams that follow HubSpot's `after` cursors: [`ObjectStream`] for lists and
//! [`SearchStream`] for searches (which stops at the 10,000-result cap).

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::stream;

use super::objects::{ListOptions, Objects};
use crate::error::HubSpotError;
use crate::models::{CrmObject, SearchRequest};

type BoxStream = Pin<Box<dyn Stream<Item = Result<CrmObject, HubSpotError>> + Send>>;

/// A stream of objects, fetched page by page. Ends after the last page, or after yielding the
/// first error.
pub struct ObjectStream {
    inner: BoxStream,
}

impl fmt::Debug for ObjectStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStream").finish_non_exhaustive()
    }
}

impl Stream for ObjectStream {
    type Item = Result<CrmObject, HubSpotError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// State of a paging stream: buffered items, the next cursor, whether it is done, and an
/// error to yield once the buffer is drained.
struct Cursor<F> {
    fetch: F,
    buffer: VecDeque<CrmObject>,
    next: Option<Option<String>>,
    stuck: Option<HubSpotError>,
}

/// Builds a stream from `fetch(after) -> (items, next_after)`. `next == None` means done;
/// `Some(None)` means the first page. A page whose next cursor is the one it was fetched with
/// would repeat forever: its items are yielded, then [`HubSpotError::CursorLoop`].
fn paged<F, Fut>(fetch: F) -> BoxStream
where
    F: FnMut(Option<String>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(Vec<CrmObject>, Option<String>), HubSpotError>> + Send,
{
    let state = Cursor {
        fetch,
        buffer: VecDeque::new(),
        next: Some(None),
        stuck: None,
    };
    Box::pin(stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.buffer.pop_front() {
                return Some((Ok(item), state));
            }
            if let Some(error) = state.stuck.take() {
                return Some((Err(error), state));
            }
            let after = state.next.take()?;
            let used = after.clone();
            match (state.fetch)(after).await {
                Ok((items, next)) => {
                    state.buffer.extend(items);
                    match next {
                        Some(next) if used.as_deref() == Some(next.as_str()) => {
                            state.stuck = Some(HubSpotError::CursorLoop { after: next });
                        }
                        next => state.next = next.map(Some),
                    }
                }
                // `state.next` stays `None`: the stream ends after the error.
                Err(error) => return Some((Err(error), state)),
            }
        }
    }))
}

pub(super) fn list(objects: Objects, options: ListOptions) -> ObjectStream {
    let first_after = options.after.clone();
    let mut first = true;
    ObjectStream {
        inner: paged(move |after: Option<String>| {
            let objects = objects.clone();
            let mut options = options.clone();
            options.after = if std::mem::take(&mut first) {
                first_after.clone()
            } else {
                after
            };
            async move {
                let page = objects.list_page(&options).await?;
                let next = page.next_after().map(str::to_owned);
                Ok((page.results, next))
            }
        }),
    }
}

/// A search cursor as a result offset, when it is one (HubSpot's search cursors are offsets).
pub(super) fn offset(after: &str) -> Option<u64> {
    after.trim().parse().ok()
}

/// What a [`SearchStream`] learned while paging.
#[derive(Debug, Default)]
struct SearchInfo {
    truncated: AtomicBool,
    total: AtomicU64,
    seen_total: AtomicBool,
}

/// The results of a search, fetched page by page.
///
/// HubSpot lets one search page through at most 10,000 results and answers a 400 beyond that.
/// This stream stops cleanly at the cap instead: it ends, [`truncated`](Self::truncated)
/// returns `true`, and a warning is logged. Narrow the search (for example by a date range)
/// to read the rest. The stream ends after yielding its first error.
pub struct SearchStream {
    inner: BoxStream,
    info: Arc<SearchInfo>,
}

impl fmt::Debug for SearchStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SearchStream")
            .field("truncated", &self.truncated())
            .field("total", &self.total())
            .finish_non_exhaustive()
    }
}

impl SearchStream {
    /// `true` once the stream stopped at HubSpot's 10,000-result cap with more results left.
    pub fn truncated(&self) -> bool {
        self.info.truncated.load(Ordering::Acquire)
    }

    /// How many objects match in all, once the first page has arrived.
    pub fn total(&self) -> Option<u64> {
        self.info
            .seen_total
            .load(Ordering::Acquire)
            .then(|| self.info.total.load(Ordering::Acquire))
    }
}

impl Stream for SearchStream {
    type Item = Result<CrmObject, HubSpotError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

pub(super) fn search(objects: Objects, request: SearchRequest) -> SearchStream {
    let info = Arc::new(SearchInfo::default());
    let shared = Arc::clone(&info);
    let first_after = request.after.clone();
    let mut first = true;
    let inner = paged(move |after: Option<String>| {
        let objects = objects.clone();
        let info = Arc::clone(&shared);
        let mut request = request.clone();
        request.after = if std::mem::take(&mut first) {
            first_after.clone()
        } else {
            after
        };
        async move {
            let start = request.after.as_deref().and_then(offset).unwrap_or(0);
            if start >= SearchRequest::MAX_RESULTS {
                info.truncated.store(true, Ordering::Release);
                return Ok((Vec::new(), None));
            }
            // Never ask past the cap: the last page is shortened to end at it.
            let limit = u64::from(request.limit.unwrap_or(10));
            let room = SearchRequest::MAX_RESULTS - start;
            if limit > room {
                request.limit = Some(u32::try_from(room).unwrap_or(SearchRequest::MAX_LIMIT));
            }
            let page = objects.search_page(&request).await?;
            info.total.store(page.total, Ordering::Release);
            info.seen_total.store(true, Ordering::Release);
            let next = page.next_after().map(str::to_owned);
            let end = start + page.results.len() as u64;
            // At the cap with more results left: HubSpot may or may not hand out a cursor
            // pointing past it, so both shapes end the stream here.
            let capped = match next.as_deref() {
                Some(cursor) => offset(cursor).is_some_and(|o| o >= SearchRequest::MAX_RESULTS),
                None => end >= SearchRequest::MAX_RESULTS && page.total > end,
            };
            let next = if capped {
                info.truncated.store(true, Ordering::Release);
                tracing::warn!(
                    object_type = objects.object_type(),
                    total = page.total,
                    cap = SearchRequest::MAX_RESULTS,
                    "hubspot search stopped at the result cap; narrow the search to read the rest"
                );
                None
            } else {
                next
            };
            Ok((page.results, next))
        }
    });
    SearchStream { inner, info }
}
