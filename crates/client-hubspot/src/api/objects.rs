use std::sync::Arc;

use http::Method;

use super::paging::{self, ObjectStream, SearchStream};
use crate::client::HubSpotClient;
use crate::error::HubSpotError;
use crate::models::{
    BatchArchiveOutcome, BatchResponse, BatchUpdateInput, BatchUpsertInput, CrmObject, ObjectInput,
    Page, SearchPage, SearchRequest, UpsertedObject,
};
use crate::request::{Call, Query, check_segment, encode, operation};

/// What to read with an object: properties, history, associations, archived objects, and the
/// unique property an id refers to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetOptions {
    /// Properties to return (HubSpot's defaults when empty).
    pub properties: Vec<String>,
    /// Properties to return with their history.
    pub properties_with_history: Vec<String>,
    /// Object types whose associated ids to return.
    pub associations: Vec<String>,
    /// Whether to return archived objects.
    pub archived: bool,
    /// The unique property the id refers to (`email`); `None` means `hs_object_id`.
    pub id_property: Option<String>,
}

impl GetOptions {
    /// HubSpot's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the properties to return.
    pub fn properties<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.properties = names.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the properties to return with their history.
    pub fn properties_with_history<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        names: I,
    ) -> Self {
        self.properties_with_history = names.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the object types whose associations to return.
    pub fn associations<I: IntoIterator<Item = S>, S: Into<String>>(mut self, types: I) -> Self {
        self.associations = types.into_iter().map(Into::into).collect();
        self
    }

    /// Returns archived objects too.
    pub fn archived(mut self, archived: bool) -> Self {
        self.archived = archived;
        self
    }

    /// Looks the object up by a unique property instead of its id.
    pub fn id_property(mut self, name: impl Into<String>) -> Self {
        self.id_property = Some(name.into());
        self
    }

    #[cfg(test)]
    fn query(&self) -> Query {
        self.query_with(self.id_property.as_deref())
    }

    /// The query string, with `id_property` in place of the options' own.
    fn query_with(&self, id_property: Option<&str>) -> Query {
        let mut query = Query::new();
        query
            .push_list("properties", &self.properties)
            .push_list("propertiesWithHistory", &self.properties_with_history)
            .push_list("associations", &self.associations);
        if self.archived {
            query.push("archived", "true");
        }
        if let Some(id_property) = id_property {
            query.push("idProperty", id_property);
        }
        query
    }
}

/// A list request: page size, cursor, and what to read with each object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Page size (HubSpot's default is 10; 100 is the usual maximum).
    pub limit: Option<u32>,
    /// The cursor to start from (`paging.next.after` of the previous page).
    pub after: Option<String>,
    /// Properties to return.
    pub properties: Vec<String>,
    /// Properties to return with their history.
    pub properties_with_history: Vec<String>,
    /// Object types whose associations to return.
    pub associations: Vec<String>,
    /// List archived objects instead of live ones.
    pub archived: bool,
}

impl ListOptions {
    /// HubSpot's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Starts at cursor `after`.
    pub fn after(mut self, after: impl Into<String>) -> Self {
        self.after = Some(after.into());
        self
    }

    /// Sets the properties to return.
    pub fn properties<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.properties = names.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the properties to return with their history.
    pub fn properties_with_history<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        names: I,
    ) -> Self {
        self.properties_with_history = names.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the object types whose associations to return.
    pub fn associations<I: IntoIterator<Item = S>, S: Into<String>>(mut self, types: I) -> Self {
        self.associations = types.into_iter().map(Into::into).collect();
        self
    }

    /// Lists archived objects.
    pub fn archived(mut self, archived: bool) -> Self {
        self.archived = archived;
        self
    }

    fn query(&self) -> Query {
        let mut query = Query::new();
        if let Some(limit) = self.limit {
            query.push("limit", &limit.to_string());
        }
        if let Some(after) = &self.after {
            query.push_cursor("after", after);
        }
        query
            .push_list("properties", &self.properties)
            .push_list("propertiesWithHistory", &self.properties_with_history)
            .push_list("associations", &self.associations);
        if self.archived {
            query.push("archived", "true");
        }
        query
    }
}

/// What to read in a batch read (associations cannot be read in batches).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchReadOptions {
    /// Properties to return.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<String>,
    /// Properties to return with their history.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties_with_history: Vec<String>,
    /// The unique property the ids refer to (`email`); `None` means `hs_object_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_property: Option<String>,
    /// Read archived objects.
    #[serde(skip)]
    pub archived: bool,
}

impl BatchReadOptions {
    /// HubSpot's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the properties to return.
    pub fn properties<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.properties = names.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the properties to return with their history.
    pub fn properties_with_history<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        names: I,
    ) -> Self {
        self.properties_with_history = names.into_iter().map(Into::into).collect();
        self
    }

    /// The ids are values of this unique property.
    pub fn id_property(mut self, name: impl Into<String>) -> Self {
        self.id_property = Some(name.into());
        self
    }

    /// Reads archived objects.
    pub fn archived(mut self, archived: bool) -> Self {
        self.archived = archived;
        self
    }
}

/// The CRM objects API for one object type (`/crm/v3/objects/{objectType}`).
///
/// Made by [`HubSpotClient::objects`]; cheap to clone.
#[derive(Debug, Clone)]
pub struct Objects {
    pub(crate) client: HubSpotClient,
    pub(crate) object_type: Arc<str>,
}

impl Objects {
    pub(crate) fn new(client: HubSpotClient, object_type: Arc<str>) -> Self {
        Self {
            client,
            object_type,
        }
    }

    /// The object type this API works on.
    pub fn object_type(&self) -> &str {
        &self.object_type
    }

    pub(crate) fn base_path(&self) -> Result<String, HubSpotError> {
        self.path_with(None, "", "")
    }

    fn object_path(&self, id: &str) -> Result<String, HubSpotError> {
        self.path_with(Some(id), "", "")
    }

    /// `/crm/v3/objects/{type}[/{id}]{suffix}{query}`, with the type and id encoded as path
    /// segments, in one allocation.
    pub(crate) fn path_with(
        &self,
        id: Option<&str>,
        suffix: &str,
        query: &str,
    ) -> Result<String, HubSpotError> {
        const PREFIX: &str = "/crm/v3/objects/";
        let object_type = encode(check_segment("object type", &self.object_type)?);
        let id = id
            .map(|id| check_segment("object id", id).map(encode))
            .transpose()?;
        let id_len = id.as_ref().map_or(0, |id| id.len() + 1);
        let mut path = String::with_capacity(
            PREFIX.len() + object_type.len() + id_len + suffix.len() + query.len(),
        );
        path.push_str(PREFIX);
        path.push_str(&object_type);
        if let Some(id) = id {
            path.push('/');
            path.push_str(&id);
        }
        path.push_str(suffix);
        path.push_str(query);
        Ok(path)
    }

    pub(crate) fn call(&self, method: Method, path: String, action: &str) -> Call {
        Call::new(method, path, operation(&self.object_type, action))
    }

    /// Reads one object (`GET /crm/v3/objects/{type}/{id}`). Cacheable.
    ///
    /// # Errors
    ///
    /// [`HubSpotError::Api`] with status 404 ([`is_not_found`](HubSpotError::is_not_found)) for
    /// an unknown id; [`HubSpotError::InvalidInput`] for an empty id; any error of the stack.
    pub async fn get(&self, id: &str, options: &GetOptions) -> Result<CrmObject, HubSpotError> {
        self.get_with(id, options, options.id_property.as_deref())
            .await
    }

    /// [`get`](Self::get) with `id_property` in place of the options' own.
    pub(crate) async fn get_with(
        &self,
        id: &str,
        options: &GetOptions,
        id_property: Option<&str>,
    ) -> Result<CrmObject, HubSpotError> {
        let path = self.path_with(Some(id), "", options.query_with(id_property).as_str())?;
        self.client
            .call_json(self.call(Method::GET, path, "get").cacheable())
            .await
    }

    /// Reads one page of objects (`GET /crm/v3/objects/{type}`).
    ///
    /// # Errors
    ///
    /// Any error of the call (see [`HubSpotError`]).
    pub async fn list_page(&self, options: &ListOptions) -> Result<Page<CrmObject>, HubSpotError> {
        let path = self.path_with(None, "", options.query().as_str())?;
        self.client
            .call_json(self.call(Method::GET, path, "list"))
            .await
    }

    /// Every object, as a stream that fetches page after page following the `after` cursor.
    /// The stream ends after the last page, or after the first error.
    pub fn list(&self, options: ListOptions) -> ObjectStream {
        paging::list(self.clone(), options)
    }

    /// Creates an object (`POST /crm/v3/objects/{type}`). Not idempotent: retried only when
    /// the request provably never reached HubSpot.
    ///
    /// # Errors
    ///
    /// [`HubSpotError::Api`] with HubSpot's `VALIDATION_ERROR` details for a bad property, a
    /// `409` `CONFLICT` for a duplicate unique value; any error of the stack.
    pub async fn create(&self, input: &ObjectInput) -> Result<CrmObject, HubSpotError> {
        let call = self
            .call(Method::POST, self.base_path()?, "create")
            .json(input)?;
        self.client.call_json(call).await
    }

    /// Updates object `id` with the properties of `input`
    /// (`PATCH /crm/v3/objects/{type}/{id}`), and drops its cached reads.
    ///
    /// # Errors
    ///
    /// A 404 for an unknown id, a 400 for a bad property; [`HubSpotError::InvalidInput`] when
    /// `input` holds associations (an update cannot create them); any error of the stack.
    pub async fn update(&self, id: &str, input: &ObjectInput) -> Result<CrmObject, HubSpotError> {
        self.update_with(id, None, input).await
    }

    /// Updates the object whose unique property `id_property` is `value`.
    ///
    /// # Errors
    ///
    /// As [`update`](Self::update).
    pub async fn update_by(
        &self,
        id_property: &str,
        value: &str,
        input: &ObjectInput,
    ) -> Result<CrmObject, HubSpotError> {
        self.update_with(value, Some(id_property), input).await
    }

    async fn update_with(
        &self,
        id: &str,
        id_property: Option<&str>,
        input: &ObjectInput,
    ) -> Result<CrmObject, HubSpotError> {
        let mut query = Query::new();
        if let Some(id_property) = id_property {
            query.push("idProperty", id_property);
        }
        let path = self.path_with(Some(id), "", query.as_str())?;
        if !input.associations.is_empty() {
            return Err(HubSpotError::InvalidInput(
                "an update cannot create associations; use the associations API".to_owned(),
            ));
        }
        let body = ObjectInput {
            properties: input.properties.clone(),
            ..ObjectInput::default()
        };
        let call = self.call(Method::PATCH, path, "update").json(&body)?;
        let result = self.client.call_json::<CrmObject>(call).await;
        match &result {
            Ok(object) => self
                .client
                .invalidate_many(&self.object_type, &[id, object.id.as_str()]),
            Err(_) => self.client.invalidate(&self.object_type, id),
        }
        result
    }

    /// Archives object `id` (`DELETE /crm/v3/objects/{type}/{id}`; restorable for 90 days),
    /// and drops its cached reads.
    ///
    /// # Errors
    ///
    /// Any error of the call. HubSpot answers 204 for an id that does not exist too.
    pub async fn archive(&self, id: &str) -> Result<(), HubSpotError> {
        let call = self.call(Method::DELETE, self.object_path(id)?, "archive");
        let result = self.client.call_json::<()>(call).await;
        self.client.invalidate(&self.object_type, id);
        result
    }

    /// One page of search results (`POST /crm/v3/objects/{type}/search`). Idempotent, on the
    /// rate limiter's separate search key.
    ///
    /// # Errors
    ///
    /// [`HubSpotError::InvalidInput`] for a limit above 200 or a cursor at or past HubSpot's
    /// 10,000-result cap; a `VALIDATION_ERROR` from HubSpot for bad filters; any error of the
    /// stack.
    pub async fn search_page(&self, request: &SearchRequest) -> Result<SearchPage, HubSpotError> {
        if request.limit.is_some_and(|l| l > SearchRequest::MAX_LIMIT) {
            return Err(HubSpotError::InvalidInput(format!(
                "search limit must be at most {}",
                SearchRequest::MAX_LIMIT
            )));
        }
        if let Some(offset) = request.after.as_deref().and_then(paging::offset) {
            if offset >= SearchRequest::MAX_RESULTS {
                return Err(HubSpotError::InvalidInput(format!(
                    "search cannot page past {} results (after={offset})",
                    SearchRequest::MAX_RESULTS
                )));
            }
        }
        let call = self
            .call(Method::POST, self.path_with(None, "/search", "")?, "search")
            .json(request)?
            .idempotent()
            .search();
        self.client.call_json(call).await
    }

    /// Every search result, as a stream that pages through them and stops cleanly at HubSpot's
    /// 10,000-result cap ([`SearchStream::truncated`] then says so) instead of failing with a
    /// 400.
    pub fn search(&self, request: SearchRequest) -> SearchStream {
        paging::search(self.clone(), request)
    }

    /// Reads objects by id (`POST .../batch/read`), 100 per request, in input order. Idempotent
    /// and cacheable.
    ///
    /// # Errors
    ///
    /// Only [`HubSpotError::InvalidInput`] for a bad object type; failures of single ids or
    /// whole requests are reported per input in the [`BatchResponse`].
    pub async fn batch_read<I, S>(
        &self,
        ids: I,
        options: &BatchReadOptions,
    ) -> Result<BatchResponse<CrmObject>, HubSpotError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let ids: Vec<String> = ids.into_iter().map(Into::into).collect();
        super::batch::read(self, ids, options).await
    }

    /// Creates objects (`POST .../batch/create`), 100 per request. Each input gets an
    /// `objectWriteTraceId` (its position, unless it has one) so a 207's errors map back to it.
    ///
    /// # Errors
    ///
    /// As [`batch_read`](Self::batch_read).
    pub async fn batch_create(
        &self,
        inputs: Vec<ObjectInput>,
    ) -> Result<BatchResponse<CrmObject>, HubSpotError> {
        super::batch::create(self, inputs).await
    }

    /// Updates objects (`POST .../batch/update`), 100 per request, and drops their cached reads.
    ///
    /// # Errors
    ///
    /// As [`batch_read`](Self::batch_read).
    pub async fn batch_update(
        &self,
        inputs: Vec<BatchUpdateInput>,
    ) -> Result<BatchResponse<CrmObject>, HubSpotError> {
        super::batch::update(self, inputs).await
    }

    /// Creates or updates objects by a unique property (`POST .../batch/upsert`), 100 per
    /// request.
    ///
    /// # Errors
    ///
    /// As [`batch_read`](Self::batch_read).
    pub async fn batch_upsert(
        &self,
        inputs: Vec<BatchUpsertInput>,
    ) -> Result<BatchResponse<UpsertedObject>, HubSpotError> {
        super::batch::upsert(self, inputs).await
    }

    /// Archives objects by id (`POST .../batch/archive`), 100 per request, and drops their
    /// cached reads.
    ///
    /// # Errors
    ///
    /// As [`batch_read`](Self::batch_read).
    pub async fn batch_archive<I, S>(&self, ids: I) -> Result<BatchArchiveOutcome, HubSpotError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let ids: Vec<String> = ids.into_iter().map(Into::into).collect();
        super::batch::archive(self, ids).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_queries() {
        let get = GetOptions::new()
            .properties(["email", "firstname"])
            .properties_with_history(["lifecyclestage"])
            .associations(["companies"])
            .archived(true)
            .id_property("email");
        assert_eq!(
            get.query().as_str(),
            "?properties=email,firstname&propertiesWithHistory=lifecyclestage\
             &associations=companies&archived=true&idProperty=email"
        );
        assert_eq!(GetOptions::new().query().as_str(), "");
        let list = ListOptions::new().limit(100).after("NTI1Cg%3D%3D");
        assert_eq!(list.query().as_str(), "?limit=100&after=NTI1Cg%3D%3D");
        let odd = ListOptions::new().after("a b");
        assert_eq!(odd.query().as_str(), "?after=a%20b");
    }
}
