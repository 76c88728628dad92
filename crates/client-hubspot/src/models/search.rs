use serde::{Deserialize, Serialize};

use super::{CrmObject, Extra, Paging};

/// A search request (`PublicObjectSearchRequest`), built with consuming setters.
///
/// Filters inside a [`FilterGroup`] are ANDed; groups are ORed. HubSpot's limits on groups and
/// filters have changed over time, so they are left to the server (a `VALIDATION_ERROR`).
///
/// ```
/// use client_hubspot::{Filter, FilterGroup, SearchRequest, Sort};
///
/// let request = SearchRequest::new()
///     .filter_group(FilterGroup::new()
///         .filter(Filter::eq("lifecyclestage", "customer"))
///         .filter(Filter::has_property("email")))
///     .sort(Sort::descending("createdate"))
///     .properties(["email", "firstname"])
///     .limit(200);
/// let json = serde_json::to_value(&request).unwrap();
/// assert_eq!(json["filterGroups"][0]["filters"][0]["operator"], "EQ");
/// assert_eq!(json["sorts"][0]["direction"], "DESCENDING");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    /// Filter groups, ORed together.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filter_groups: Vec<FilterGroup>,
    /// Sort order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sorts: Vec<Sort>,
    /// Properties to return (HubSpot's defaults when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<String>,
    /// Free-text query over the object's searchable properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Page size (HubSpot: default 10, at most 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Where the page starts: the `after` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl SearchRequest {
    /// The largest page HubSpot serves.
    pub const MAX_LIMIT: u32 = 200;
    /// The most results HubSpot lets one search page through.
    pub const MAX_RESULTS: u64 = 10_000;

    /// An empty search (every object, HubSpot's default properties).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a filter group (ORed with the others).
    pub fn filter_group(mut self, group: FilterGroup) -> Self {
        self.filter_groups.push(group);
        self
    }

    /// Adds a sort.
    pub fn sort(mut self, sort: Sort) -> Self {
        self.sorts.push(sort);
        self
    }

    /// Sets the properties to return.
    pub fn properties<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.properties = names.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the free-text query.
    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    /// Sets the page size (1 to 200).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Starts at cursor `after`.
    pub fn after(mut self, after: impl Into<String>) -> Self {
        self.after = Some(after.into());
        self
    }
}

/// Filters that must all hold (AND).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterGroup {
    /// The filters.
    pub filters: Vec<Filter>,
}

impl FilterGroup {
    /// An empty group.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a filter (ANDed with the others).
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filters.push(filter);
        self
    }
}

/// One search filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// The property compared.
    pub property_name: String,
    /// The comparison.
    pub operator: Operator,
    /// The value compared with (most operators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The upper bound of `BETWEEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_value: Option<String>,
    /// The values of `IN` and `NOT_IN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

impl Filter {
    /// A filter `property operator value`.
    pub fn new(property: impl Into<String>, operator: Operator, value: impl Into<String>) -> Self {
        Self {
            property_name: property.into(),
            operator,
            value: Some(value.into()),
            high_value: None,
            values: None,
        }
    }

    /// `property == value`.
    pub fn eq(property: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(property, Operator::Eq, value)
    }

    /// `property != value`.
    pub fn neq(property: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(property, Operator::Neq, value)
    }

    /// `property > value`.
    pub fn gt(property: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(property, Operator::Gt, value)
    }

    /// `property >= value`.
    pub fn gte(property: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(property, Operator::Gte, value)
    }

    /// `property < value`.
    pub fn lt(property: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(property, Operator::Lt, value)
    }

    /// `property <= value`.
    pub fn lte(property: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(property, Operator::Lte, value)
    }

    /// `property` contains the token `value` (`*` wildcards allowed).
    pub fn contains_token(property: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(property, Operator::ContainsToken, value)
    }

    /// `low <= property <= high`.
    pub fn between(
        property: impl Into<String>,
        low: impl Into<String>,
        high: impl Into<String>,
    ) -> Self {
        Self {
            high_value: Some(high.into()),
            ..Self::new(property, Operator::Between, low)
        }
    }

    /// `property` is one of `values`.
    pub fn is_in<I, S>(property: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            property_name: property.into(),
            operator: Operator::In,
            value: None,
            high_value: None,
            values: Some(values.into_iter().map(Into::into).collect()),
        }
    }

    /// `property` has a value.
    pub fn has_property(property: impl Into<String>) -> Self {
        Self {
            property_name: property.into(),
            operator: Operator::HasProperty,
            value: None,
            high_value: None,
            values: None,
        }
    }

    /// `property` has no value.
    pub fn not_has_property(property: impl Into<String>) -> Self {
        Self {
            operator: Operator::NotHasProperty,
            ..Self::has_property(property)
        }
    }
}

/// A search filter operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum Operator {
    /// Equal.
    Eq,
    /// Not equal.
    Neq,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Between `value` and `highValue`, inclusive.
    Between,
    /// One of `values`.
    In,
    /// None of `values`.
    NotIn,
    /// Has a value.
    HasProperty,
    /// Has no value.
    NotHasProperty,
    /// Contains a token.
    ContainsToken,
    /// Does not contain a token.
    NotContainsToken,
}

/// A sort: property and direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sort {
    /// The property sorted on.
    pub property_name: String,
    /// The direction.
    pub direction: SortDirection,
}

impl Sort {
    /// Smallest first.
    pub fn ascending(property: impl Into<String>) -> Self {
        Self {
            property_name: property.into(),
            direction: SortDirection::Ascending,
        }
    }

    /// Largest first.
    pub fn descending(property: impl Into<String>) -> Self {
        Self {
            property_name: property.into(),
            direction: SortDirection::Descending,
        }
    }
}

/// A sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SortDirection {
    /// Smallest first.
    Ascending,
    /// Largest first.
    Descending,
}

/// One page of search results (`CollectionResponseWithTotalSimplePublicObject`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SearchPage {
    /// How many objects match in all (may exceed what search can page through).
    #[serde(default)]
    pub total: u64,
    /// The objects of this page.
    pub results: Vec<CrmObject>,
    /// Where the next page starts; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
    /// Every other field HubSpot sent.
    #[serde(flatten)]
    pub extra: Extra,
}

impl SearchPage {
    /// The cursor of the next page, `None` on the last page.
    pub fn next_after(&self) -> Option<&str> {
        Some(self.paging.as_ref()?.next.as_ref()?.after.as_str())
    }
}
