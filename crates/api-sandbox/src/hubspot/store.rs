//! The in-memory CRM: objects per type, kept in id order so `after` paging is stable.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use parking_lot::Mutex;
use serde_json::{Map, Value, json};

use crate::config::CustomObjectType;
use crate::util::iso_ms;

/// A configured custom object type with its names interned as `&'static str`, so
/// [`ObjectType`] stays `Copy` and property names stay `&'static` like the built-in ones.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct CustomDef {
    pub(crate) name: &'static str,
    pub(crate) fq_name: String,
    pub(crate) type_id: &'static str,
    pub(crate) upper: &'static str,
    pub(crate) primary: &'static str,
    pub(crate) known: Vec<&'static str>,
    pub(crate) searchable: Vec<&'static str>,
    pub(crate) records: usize,
}

/// The properties every custom object has (read-only).
const CUSTOM_SYSTEM: [&str; 3] = ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"];

/// Every custom definition built so far, so equal configurations share one allocation: the
/// leak is bounded by the number of distinct configurations a process uses.
static REGISTRY: LazyLock<Mutex<Vec<&'static CustomDef>>> = LazyLock::new(Mutex::default);

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

impl CustomDef {
    /// The interned definition of `c` for portal `portal_id`.
    pub(crate) fn intern(c: &CustomObjectType, portal_id: u64) -> &'static Self {
        let mut reg = REGISTRY.lock();
        let fq_name = format!("p{portal_id}_{}", c.name.to_ascii_lowercase());
        let same = |d: &&&'static CustomDef| {
            d.name == c.name
                && d.fq_name == fq_name
                && d.type_id == c.object_type_id
                && d.primary == c.primary_display_property
                && d.records == c.records
                && d.known.len() == c.properties.len() + CUSTOM_SYSTEM.len()
                && c.properties.iter().all(|p| d.known.contains(&p.as_str()))
        };
        if let Some(d) = reg.iter().find(same) {
            return d;
        }
        let mut known: Vec<&'static str> = c.properties.iter().map(|p| leak(p)).collect();
        known.extend(CUSTOM_SYSTEM);
        let primary = known
            .iter()
            .find(|k| **k == c.primary_display_property)
            .copied()
            .unwrap_or("hs_object_id");
        let def: &'static CustomDef = Box::leak(Box::new(CustomDef {
            name: leak(&c.name),
            fq_name,
            type_id: leak(&c.object_type_id),
            upper: leak(&c.name.to_ascii_uppercase()),
            primary,
            searchable: vec![primary],
            known,
            records: c.records,
        }));
        reg.push(def);
        def
    }

    /// The static name of a property of any registered custom type.
    fn property(name: &str) -> Option<&'static str> {
        REGISTRY
            .lock()
            .iter()
            .flat_map(|d| d.known.iter())
            .find(|k| **k == name)
            .copied()
    }
}

/// The CRM object types the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ObjectType {
    Contacts,
    Companies,
    Deals,
    /// A configured custom object type.
    Custom(&'static CustomDef),
}

impl ObjectType {
    /// Accepts the name or the `0-N` object type id of a built-in type.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "contacts" | "contact" | "0-1" => Some(Self::Contacts),
            "companies" | "company" | "0-2" => Some(Self::Companies),
            "deals" | "deal" | "0-3" => Some(Self::Deals),
            _ => None,
        }
    }

    /// Like [`ObjectType::parse`], also accepting the configured custom types by name,
    /// fully qualified name (`p<portal>_<name>`) or object type id.
    pub(crate) fn resolve(s: &str, custom: &[&'static CustomDef]) -> Option<Self> {
        Self::parse(s).or_else(|| {
            custom
                .iter()
                .find(|d| {
                    d.name.eq_ignore_ascii_case(s)
                        || d.fq_name.eq_ignore_ascii_case(s)
                        || d.type_id.eq_ignore_ascii_case(s)
                })
                .map(|d| Self::Custom(d))
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Contacts => "contacts",
            Self::Companies => "companies",
            Self::Deals => "deals",
            Self::Custom(d) => d.name,
        }
    }

    /// The object part of the scope name (`crm.objects.<scope>.read`).
    pub(crate) fn scope_name(self) -> &'static str {
        match self {
            Self::Custom(_) => "custom",
            other => other.name(),
        }
    }

    /// The creation-date property (`hs_createdate` on custom objects).
    pub(crate) fn created_property(self) -> &'static str {
        match self {
            Self::Custom(_) => "hs_createdate",
            _ => "createdate",
        }
    }

    /// Lower-case singular, as in association type names (`contact_to_company`).
    pub(crate) fn singular(self) -> &'static str {
        match self {
            Self::Contacts => "contact",
            Self::Companies => "company",
            Self::Deals => "deal",
            Self::Custom(d) => d.name,
        }
    }

    /// Upper-case singular, as HubSpot writes it in error messages.
    pub(crate) fn upper(self) -> &'static str {
        match self {
            Self::Contacts => "CONTACT",
            Self::Companies => "COMPANY",
            Self::Deals => "DEAL",
            Self::Custom(d) => d.upper,
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
            Self::Custom(d) => &d.known,
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
            Self::Custom(_) => &CUSTOM_SYSTEM,
        }
    }

    pub(crate) fn read_only(self, prop: &str) -> bool {
        prop == "hs_object_id"
            || prop == self.created_property()
            || prop == self.last_modified_property()
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
    .or_else(|| CustomDef::property(name))
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

/// One recorded value of a property, for `propertiesWithHistory`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) name: String,
    pub(crate) value: String,
    pub(crate) at_ms: i64,
    pub(crate) source: &'static str,
}

/// `sourceType` of values written through the API.
pub(crate) const SOURCE_API: &str = "INTEGRATION";

/// One CRM record.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) id: u64,
    pub(crate) props: Props,
    pub(crate) created_ms: i64,
    pub(crate) updated_ms: i64,
    pub(crate) archived_at: Option<i64>,
    /// Values written through the API, oldest first (seeded values are synthesised on read and
    /// captured here before their first overwrite).
    pub(crate) history: Vec<Change>,
}

impl Record {
    /// Records a write of `name` (call before changing the value): the value it replaces is
    /// kept as its seeded origin the first time.
    pub(crate) fn note_write(&mut self, ty: ObjectType, name: &str, value: &str, now: i64) {
        if !self.history.iter().any(|c| c.name == name) {
            let mut origin = self.synthesised_history(ty, name);
            origin.reverse();
            self.history.extend(origin);
        }
        self.history.push(Change {
            name: name.to_owned(),
            value: value.to_owned(),
            at_ms: now,
            source: SOURCE_API,
        });
    }

    /// The history of a property that was never written through the API, newest first:
    /// seeded values came from an import; a seeded contact's lifecycle stage walked through
    /// the earlier stages a minute apart; ids and dates are calculated.
    fn synthesised_history(&self, ty: ObjectType, name: &str) -> Vec<Change> {
        let Some(value) = self.props.get(name) else {
            return Vec::new();
        };
        let change = |v: &str, at_ms: i64, source: &'static str| Change {
            name: name.to_owned(),
            value: v.to_owned(),
            at_ms,
            source,
        };
        if name == "hs_object_id" || name == "createdate" || name == "hs_createdate" {
            return vec![change(value, self.created_ms, "CALCULATED")];
        }
        if name == ty.last_modified_property() {
            return vec![change(value, self.updated_ms, "CALCULATED")];
        }
        if ty == ObjectType::Contacts && name == "lifecyclestage" {
            let stages = crate::seed::LIFECYCLE_STAGES;
            if let Some(pos) = stages.iter().position(|s| *s == value) {
                return (0..=pos)
                    .rev()
                    .map(|i| {
                        let source = if i == 0 {
                            "IMPORT"
                        } else {
                            "AUTOMATION_PLATFORM"
                        };
                        change(stages[i], self.created_ms + i as i64 * 60_000, source)
                    })
                    .collect();
            }
        }
        vec![change(value, self.created_ms, "IMPORT")]
    }

    /// `propertiesWithHistory`: for each named property, its values newest first as
    /// `ValueWithTimestamp` objects.
    pub(crate) fn history_json(&self, ty: ObjectType, names: &[String]) -> Value {
        let mut map = Map::new();
        for n in names {
            let mut list: Vec<Change> = self
                .history
                .iter()
                .filter(|c| c.name == *n)
                .rev()
                .cloned()
                .collect();
            if list.is_empty() {
                list = self.synthesised_history(ty, n);
            }
            let values: Vec<Value> = list
                .iter()
                .map(|c| {
                    let mut v = json!({
                        "value": c.value,
                        "timestamp": iso_ms(c.at_ms),
                        "sourceType": c.source,
                    });
                    if c.source == SOURCE_API {
                        v["sourceId"] = json!("api-sandbox");
                        v["sourceLabel"] = json!("api-sandbox private app");
                    } else if c.source == "AUTOMATION_PLATFORM" {
                        v["sourceId"] = json!("enrollmentId:1");
                    }
                    v
                })
                .collect();
            map.insert(n.clone(), Value::Array(values));
        }
        Value::Object(map)
    }

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

/// What `CrmStore::of` returns for a custom type without records yet.
static EMPTY: LazyLock<ObjectStore> = LazyLock::new(ObjectStore::default);

/// A record address: its type and id.
pub(crate) type ObjectRef = (ObjectType, u64);

/// The whole CRM.
#[derive(Debug, Default)]
pub(crate) struct CrmStore {
    pub(crate) contacts: ObjectStore,
    pub(crate) companies: ObjectStore,
    pub(crate) deals: ObjectStore,
    /// Records of the configured custom types, by object type id.
    pub(crate) custom: HashMap<&'static str, ObjectStore>,
    /// Associations, stored in both directions, in the order they were made.
    pub(crate) links: HashMap<ObjectRef, Vec<ObjectRef>>,
}

impl CrmStore {
    /// Associates two records (both directions; a repeat is a no-op).
    pub(crate) fn link(&mut self, a: ObjectRef, b: ObjectRef) {
        for (from, to) in [(a, b), (b, a)] {
            let list = self.links.entry(from).or_default();
            if !list.contains(&to) {
                list.push(to);
            }
        }
    }

    /// The `associations` object of a record for the requested target types: live targets
    /// only, types with none left out (as HubSpot does).
    pub(crate) fn associations_json(&self, from: ObjectRef, to: &[ObjectType]) -> Value {
        let mut map = Map::new();
        let linked = self.links.get(&from).map_or(&[][..], Vec::as_slice);
        for ty in to {
            let results: Vec<Value> = linked
                .iter()
                .filter(|(t, id)| {
                    t == ty
                        && self
                            .of(*t)
                            .records
                            .get(id)
                            .is_some_and(|r| r.archived_at.is_none())
                })
                .map(|(t, id)| {
                    json!({
                        "id": id.to_string(),
                        "type": format!("{}_to_{}", from.0.singular(), t.singular()),
                    })
                })
                .collect();
            if !results.is_empty() {
                map.insert(ty.name().to_owned(), json!({ "results": results }));
            }
        }
        Value::Object(map)
    }

    pub(crate) fn of(&self, ty: ObjectType) -> &ObjectStore {
        match ty {
            ObjectType::Contacts => &self.contacts,
            ObjectType::Companies => &self.companies,
            ObjectType::Deals => &self.deals,
            ObjectType::Custom(d) => self.custom.get(d.type_id).unwrap_or(&EMPTY),
        }
    }

    pub(crate) fn of_mut(&mut self, ty: ObjectType) -> &mut ObjectStore {
        match ty {
            ObjectType::Contacts => &mut self.contacts,
            ObjectType::Companies => &mut self.companies,
            ObjectType::Deals => &mut self.deals,
            ObjectType::Custom(d) => self.custom.entry(d.type_id).or_default(),
        }
    }
}
