//! The in-memory CRM: objects per type, kept in id order so `after` paging is stable.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use crate::util::iso_ms;

/// The CRM object types the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ObjectType {
    Contacts,
    Companies,
    Deals,
}

impl ObjectType {
    /// Accepts the name or the `0-N` object type id.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "contacts" | "contact" | "0-1" => Some(Self::Contacts),
            "companies" | "company" | "0-2" => Some(Self::Companies),
            "deals" | "deal" | "0-3" => Some(Self::Deals),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Contacts => "contacts",
            Self::Companies => "companies",
            Self::Deals => "deals",
        }
    }

    /// Upper-case singular, as HubSpot writes it in error messages.
    pub(crate) fn upper(self) -> &'static str {
        match self {
            Self::Contacts => "CONTACT",
            Self::Companies => "COMPANY",
            Self::Deals => "DEAL",
        }
    }

    pub(crate) fn last_modified_property(self) -> &'static str {
        match self {
            Self::Contacts => "lastmodifieddate",
            _ => "hs_lastmodifieddate",
        }
    }

    /// Every property the sandbox knows for the type (writes to others are a 400).
    pub(crate) fn known_properties(self) -> &'static [&'static str] {
        match self {
            Self::Contacts => &[
                "email",
                "firstname",
                "lastname",
                "phone",
                "mobilephone",
                "company",
                "jobtitle",
                "city",
                "country",
                "website",
                "lifecyclestage",
                "hs_lead_status",
                "createdate",
                "lastmodifieddate",
                "hs_object_id",
            ],
            Self::Companies => &[
                "name",
                "domain",
                "industry",
                "city",
                "country",
                "phone",
                "numberofemployees",
                "lifecyclestage",
                "createdate",
                "hs_lastmodifieddate",
                "hs_object_id",
            ],
            Self::Deals => &[
                "dealname",
                "amount",
                "dealstage",
                "pipeline",
                "closedate",
                "createdate",
                "hs_lastmodifieddate",
                "hs_object_id",
            ],
        }
    }

    /// Properties returned when the request names none.
    pub(crate) fn default_properties(self) -> &'static [&'static str] {
        match self {
            Self::Contacts => &[
                "createdate",
                "email",
                "firstname",
                "hs_object_id",
                "lastmodifieddate",
                "lastname",
            ],
            Self::Companies => &[
                "createdate",
                "domain",
                "hs_lastmodifieddate",
                "hs_object_id",
                "name",
            ],
            Self::Deals => &[
                "amount",
                "closedate",
                "createdate",
                "dealname",
                "dealstage",
                "hs_lastmodifieddate",
                "hs_object_id",
                "pipeline",
            ],
        }
    }

    pub(crate) fn read_only(self, prop: &str) -> bool {
        prop == "hs_object_id" || prop == "createdate" || prop == self.last_modified_property()
    }

    /// The properties that can serve as `idProperty` besides `hs_object_id`.
    pub(crate) fn unique_property(self) -> Option<&'static str> {
        match self {
            Self::Contacts => Some("email"),
            _ => None,
        }
    }
}

/// Property values of a record: a small sorted vector keyed by the static property name (a
/// third of the memory of a `BTreeMap<String, String>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Props(Vec<(&'static str, String)>);

/// The static name of a known property of any type.
fn intern(name: &str) -> Option<&'static str> {
    [
        ObjectType::Contacts,
        ObjectType::Companies,
        ObjectType::Deals,
    ]
    .iter()
    .flat_map(|t| t.known_properties().iter())
    .find(|n| **n == name)
    .copied()
}

impl Props {
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| (*n).cmp(name))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&String> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }

    /// Sets a known property (unknown names are never stored: writes validate them first).
    pub(crate) fn insert(&mut self, name: &str, value: String) {
        let Some(name) = intern(name) else {
            return;
        };
        match self.find(name) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (name, value)),
        }
    }

    pub(crate) fn remove(&mut self, name: &str) {
        if let Ok(i) = self.find(name) {
            self.0.remove(i);
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&'static str, &String)> {
        self.0.iter().map(|(k, v)| (*k, v))
    }
}

/// One CRM record.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) id: u64,
    pub(crate) props: Props,
    pub(crate) created_ms: i64,
    pub(crate) updated_ms: i64,
    pub(crate) archived_at: Option<i64>,
}

impl Record {
    /// `SimplePublicObject` JSON with the selected properties (`None`: every stored property).
    pub(crate) fn to_json(&self, props: Option<&[String]>) -> Value {
        let mut map = Map::new();
        match props {
            Some(names) => {
                for n in names {
                    let v = self.props.get(n).map_or(Value::Null, |s| json!(s));
                    map.insert(n.clone(), v);
                }
            }
            None => {
                for (k, v) in self.props.iter() {
                    map.insert(k.to_owned(), json!(v));
                }
            }
        }
        let mut obj = json!({
            "id": self.id.to_string(),
            "properties": map,
            "createdAt": iso_ms(self.created_ms),
            "updatedAt": iso_ms(self.updated_ms),
            "archived": self.archived_at.is_some(),
        });
        if let (Some(at), Some(o)) = (self.archived_at, obj.as_object_mut()) {
            o.insert("archivedAt".into(), json!(iso_ms(at)));
        }
        obj
    }
}

/// All records of one object type.
#[derive(Debug, Default)]
pub(crate) struct ObjectStore {
    pub(crate) records: BTreeMap<u64, Record>,
    pub(crate) next_id: u64,
    /// Lower-cased value of the unique property (email) → id, for live records only.
    pub(crate) unique: HashMap<String, u64>,
}

impl ObjectStore {
    pub(crate) fn insert(&mut self, ty: ObjectType, rec: Record) {
        if let Some(u) = ty.unique_property()
            && let Some(v) = rec.props.get(u)
            && rec.archived_at.is_none()
        {
            self.unique.insert(v.to_ascii_lowercase(), rec.id);
        }
        self.next_id = self.next_id.max(rec.id + 1);
        self.records.insert(rec.id, rec);
    }

    /// Finds a record by id or by the unique property.
    pub(crate) fn find(&self, id: &str, by_unique: bool, archived: bool) -> Option<&Record> {
        let rid = if by_unique {
            *self.unique.get(&id.to_ascii_lowercase())?
        } else {
            id.trim().parse::<u64>().ok()?
        };
        self.records
            .get(&rid)
            .filter(|r| r.archived_at.is_some() == archived)
    }

    pub(crate) fn reindex(&mut self, ty: ObjectType, id: u64, old: Option<&str>) {
        let Some(u) = ty.unique_property() else {
            return;
        };
        if let Some(o) = old {
            let key = o.to_ascii_lowercase();
            if self.unique.get(&key) == Some(&id) {
                self.unique.remove(&key);
            }
        }
        if let Some(rec) = self.records.get(&id)
            && rec.archived_at.is_none()
            && let Some(v) = rec.props.get(u)
            && !v.is_empty()
        {
            self.unique.insert(v.to_ascii_lowercase(), id);
        }
    }
}

/// The whole CRM.
#[derive(Debug, Default)]
pub(crate) struct CrmStore {
    pub(crate) contacts: ObjectStore,
    pub(crate) companies: ObjectStore,
    pub(crate) deals: ObjectStore,
}

impl CrmStore {
    pub(crate) fn of(&self, ty: ObjectType) -> &ObjectStore {
        match ty {
            ObjectType::Contacts => &self.contacts,
            ObjectType::Companies => &self.companies,
            ObjectType::Deals => &self.deals,
        }
    }

    pub(crate) fn of_mut(&mut self, ty: ObjectType) -> &mut ObjectStore {
        match ty {
            ObjectType::Contacts => &mut self.contacts,
            ObjectType::Companies => &mut self.companies,
            ObjectType::Deals => &mut self.deals,
        }
    }
}
