//! SCIM PATCH (RFC 7644 §3.5.2) as Okta and Entra send it: case-insensitive ops, no-path value
//! objects (dotted and URN-qualified keys, complex values merged), value-path filters with
//! upsert, string booleans, `add` with set semantics. Operations apply in order to a canonical
//! document; any failing operation fails the whole PATCH before anything is written.

use std::collections::HashMap;

use serde_json::Value;

use crate::error::{ScimError, ScimResult};
use crate::filter::{self, Filter, Literal, Op};
use crate::resource::{self, Object, Resolved};
use crate::schema::{self, Attribute, Kind, Mutability, ResourceType, Returned};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub op: OpKind,
    pub path: Option<Path>,
    pub value: Option<Value>,
}

/// `attribute[filter].sub`, each part optional but the attribute.
#[derive(Debug, Clone)]
pub struct Path {
    pub text: String,
    pub attribute: String,
    pub filter: Option<Filter>,
    pub sub: Option<String>,
}

/// Operations in one PATCH, and values in one operation (elements of a multi-valued value, or
/// attributes of a value object): far above what Okta and Entra send (Okta pushes members in
/// batches of at most a few hundred), and what the service takes in one call.
pub const MAX_OPERATIONS: usize = 1000;
pub const MAX_VALUES_PER_OPERATION: usize = 10_000;

/// How many values an operation carries (see [`MAX_VALUES_PER_OPERATION`]).
fn value_count(value: &Value) -> usize {
    match value {
        Value::Array(elements) => elements.len(),
        Value::Object(object) => object
            .values()
            .map(|inner| match inner {
                Value::Array(elements) => elements.len().max(1),
                _ => 1,
            })
            .sum(),
        _ => 1,
    }
}

/// Parses a PatchOp body. `Operations` may be spelled in any case; `schemas`, when present,
/// must name the PatchOp message.
pub fn parse(body: Value) -> ScimResult<Vec<Operation>> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax(
            "a PATCH body is a PatchOp object",
        ));
    };
    let mut operations = None;
    for (key, value) in body {
        if key.eq_ignore_ascii_case("schemas") {
            let names_patch_op = value.as_array().is_some_and(|schemas| {
                schemas.iter().any(|schema| {
                    schema
                        .as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(schema::PATCH_OP))
                })
            });
            if !names_patch_op {
                return Err(ScimError::invalid_syntax(format!(
                    "schemas must contain {}",
                    schema::PATCH_OP
                )));
            }
        } else if key.eq_ignore_ascii_case("operations") {
            operations = Some(value);
        }
    }
    let Some(Value::Array(operations)) = operations else {
        return Err(ScimError::invalid_syntax(
            "Operations (an array) is required",
        ));
    };
    if operations.is_empty() {
        return Err(ScimError::invalid_syntax("Operations is empty"));
    }
    if operations.len() > MAX_OPERATIONS {
        return Err(ScimError::too_many(format!(
            "{} operations in one PATCH; at most {MAX_OPERATIONS}: split the request",
            operations.len()
        )));
    }
    operations
        .into_iter()
        .enumerate()
        .map(|(index, operation)| parse_operation(index, operation))
        .collect()
}

fn parse_operation(index: usize, operation: Value) -> ScimResult<Operation> {
    let Value::Object(operation) = operation else {
        return Err(ScimError::invalid_syntax(format!(
            "Operations[{index}] must be an object"
        )));
    };
    let (mut op, mut path, mut value) = (None, None, None);
    for (key, field) in operation {
        match key.to_ascii_lowercase().as_str() {
            "op" => op = Some(field),
            "path" => path = Some(field),
            "value" => value = Some(field),
            _ => {}
        }
    }
    let op = match op
        .as_ref()
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("add") => OpKind::Add,
        Some("replace") => OpKind::Replace,
        Some("remove") => OpKind::Remove,
        _ => {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{index}].op must be add, replace or remove"
            )));
        }
    };
    let path = match path {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(Value::String(text)) => Some(parse_path(&text)?),
        Some(_) => {
            return Err(ScimError::invalid_path(format!(
                "Operations[{index}].path must be a string"
            )));
        }
    };
    if op != OpKind::Remove && value.is_none() {
        return Err(ScimError::invalid_value(format!(
            "Operations[{index}] ({op:?}) needs a value"
        )));
    }
    if let Some(count) = value.as_ref().map(value_count)
        && count > MAX_VALUES_PER_OPERATION
    {
        return Err(ScimError::too_many(format!(
            "Operations[{index}] carries {count} values; at most {MAX_VALUES_PER_OPERATION} in \
             one operation: split the request"
        )));
    }
    Ok(Operation { op, path, value })
}

pub fn parse_path(text: &str) -> ScimResult<Path> {
    let text = text.trim();
    let Some(open) = text.find('[') else {
        if text.contains(char::is_whitespace) || text.contains(']') {
            return Err(ScimError::invalid_path(format!("bad path {text:?}")));
        }
        return Ok(Path {
            text: text.to_owned(),
            attribute: text.to_owned(),
            filter: None,
            sub: None,
        });
    };
    let close = text
        .rfind(']')
        .filter(|close| *close > open)
        .ok_or_else(|| ScimError::invalid_path(format!("unbalanced brackets in path {text:?}")))?;
    let filter = filter::parse(&text[open + 1..close])
        .map_err(|error| ScimError::invalid_path(format!("path {text:?}: {}", error.detail)))?;
    let sub = match &text[close + 1..] {
        "" => None,
        rest => Some(
            rest.strip_prefix('.')
                .filter(|sub| !sub.is_empty() && !sub.contains(['.', '[', ']', ' ']))
                .ok_or_else(|| ScimError::invalid_path(format!("bad path {text:?}")))?
                .to_owned(),
        ),
    };
    Ok(Path {
        text: text.to_owned(),
        attribute: text[..open].to_owned(),
        filter: Some(filter),
        sub,
    })
}

/// Applies every operation to `document`, in order.
pub fn apply(
    resource_type: &ResourceType,
    document: &mut Object,
    operations: &[Operation],
) -> ScimResult<()> {
    for operation in operations {
        match &operation.path {
            Some(path) => apply_path(
                resource_type,
                document,
                operation.op,
                path,
                operation.value.clone(),
            )?,
            None => apply_value_object(resource_type, document, operation)?,
        }
    }
    resource::tidy(document, resource_type);
    Ok(())
}

/// No path: `value` is an object of attributes (keys may be dotted or URN-qualified).
fn apply_value_object(
    resource_type: &ResourceType,
    document: &mut Object,
    operation: &Operation,
) -> ScimResult<()> {
    if operation.op == OpKind::Remove {
        return Err(ScimError::no_target("remove needs a path"));
    }
    let Some(Value::Object(values)) = operation.value.clone() else {
        return Err(ScimError::invalid_value(
            "without a path, value must be an object of attributes",
        ));
    };
    for (key, value) in values {
        match resource::resolve(resource_type, &key) {
            // Okta sends the id (and other read-only data) along in value objects.
            Some(Resolved::Common("id" | "meta" | "schemas")) | None => {}
            Some(Resolved::Extension(extension)) => {
                let Value::Object(inner) = value else {
                    return Err(ScimError::invalid_value(format!(
                        "{} must be an object",
                        extension.id
                    )));
                };
                for (inner_key, inner_value) in inner {
                    let path = parse_path(&format!("{}:{inner_key}", extension.id))?;
                    apply_path(
                        resource_type,
                        document,
                        operation.op,
                        &path,
                        Some(inner_value),
                    )?;
                }
            }
            // Read-only attributes (`groups`) and passwords are ignored here as in a POST.
            Some(Resolved::Attribute { attribute, .. }) if !resource::is_stored(attribute) => {}
            Some(_) => {
                let path = parse_path(&key)?;
                apply_path(resource_type, document, operation.op, &path, Some(value))?;
            }
        }
    }
    Ok(())
}

fn apply_path(
    resource_type: &ResourceType,
    document: &mut Object,
    op: OpKind,
    path: &Path,
    value: Option<Value>,
) -> ScimResult<()> {
    let resolved = resource::resolve(resource_type, &path.attribute).ok_or_else(|| {
        ScimError::invalid_path(format!("unknown attribute in path {:?}", path.text))
    })?;
    match resolved {
        Resolved::Common("externalId") if path.filter.is_none() => {
            match (op, value) {
                (OpKind::Remove, _) | (_, Some(Value::Null)) => {
                    document.remove("externalId");
                }
                (_, Some(Value::String(text))) => {
                    document.insert("externalId".into(), Value::String(text));
                }
                _ => return Err(ScimError::invalid_value("externalId must be a string")),
            }
            Ok(())
        }
        Resolved::Common(name) => Err(ScimError::mutability(format!("{name} is read-only"))),
        Resolved::Extension(extension) => {
            if path.filter.is_some() {
                return Err(ScimError::invalid_path(format!("bad path {:?}", path.text)));
            }
            match (op, value) {
                (OpKind::Remove, _) => {
                    document.remove(extension.id);
                    Ok(())
                }
                (_, Some(Value::Object(inner))) => {
                    for (key, value) in inner {
                        let path = parse_path(&format!("{}:{key}", extension.id))?;
                        // Like a value object: unknown keys (e.g. `schemas`) are ignored.
                        if resource::resolve(resource_type, &path.attribute).is_some() {
                            apply_path(resource_type, document, op, &path, Some(value))?;
                        }
                    }
                    Ok(())
                }
                _ => Err(ScimError::invalid_value(format!(
                    "{} takes an object",
                    extension.id
                ))),
            }
        }
        Resolved::Attribute {
            schema,
            attribute,
            sub,
        } => {
            // `name.givenName` resolves with a sub-attribute; `emails[…].value` carries it apart.
            let sub = match (&path.sub, sub) {
                (Some(_), Some(_)) => {
                    return Err(ScimError::invalid_path(format!("bad path {:?}", path.text)));
                }
                (Some(name), None) => {
                    Some(schema::find(attribute.sub_attributes, name).ok_or_else(|| {
                        ScimError::invalid_path(format!("unknown sub-attribute in {:?}", path.text))
                    })?)
                }
                (None, sub) => sub,
            };
            // A password is accepted and dropped, never stored.
            if attribute.returned == Returned::Never {
                return Ok(());
            }
            if attribute.mutability == Mutability::ReadOnly
                || sub.is_some_and(|sub| sub.mutability == Mutability::ReadOnly)
            {
                return Err(ScimError::mutability(format!("{} is read-only", path.text)));
            }
            resource::in_container(document, resource_type, schema, |holder| {
                match &path.filter {
                    None => apply_plain(holder, op, attribute, sub, value),
                    Some(filter) => {
                        apply_filtered(holder, op, attribute, filter, sub, value, &path.text)
                    }
                }
            })
        }
    }
}

fn apply_plain(
    holder: &mut Object,
    op: OpKind,
    attribute: &Attribute,
    sub: Option<&Attribute>,
    value: Option<Value>,
) -> ScimResult<()> {
    let name = attribute.name;
    if attribute.required
        && sub.is_none()
        && (op == OpKind::Remove || value.as_ref().is_some_and(Value::is_null))
    {
        return Err(ScimError::mutability(format!(
            "{name} is required and cannot be removed"
        )));
    }
    match (op, sub) {
        (OpKind::Remove, None) if attribute.multi_valued && value.is_some() => {
            // Entra's legacy form: remove the listed elements.
            let listed = resource::coerce(attribute, value.unwrap_or(Value::Null), name)?;
            let listed = listed.as_array().map(Vec::as_slice).unwrap_or_default();
            let gone = ElementSet::of(attribute, listed);
            if let Some(Value::Array(elements)) = holder.get_mut(name) {
                elements.retain(|element| !gone.contains(element));
            }
        }
        (OpKind::Remove, None) => {
            holder.remove(name);
        }
        (OpKind::Remove, Some(sub)) => resource::remove_sub_attribute(holder, name, sub.name),
        (_, None) => {
            let value = resource::coerce(attribute, value.unwrap_or(Value::Null), name)?;
            match value {
                Value::Null => {
                    holder.remove(name);
                }
                Value::Array(new) => {
                    let existing = match holder.remove(name) {
                        Some(Value::Array(elements)) if op == OpKind::Add => elements,
                        _ => Vec::new(),
                    };
                    let elements = union(attribute, existing, new);
                    holder.insert(name.to_owned(), Value::Array(elements));
                }
                // Complex values merge: `{"name":{"givenName":"X"}}` keeps familyName.
                Value::Object(new) => match holder.get_mut(name) {
                    Some(Value::Object(existing)) => existing.extend(new),
                    _ => {
                        holder.insert(name.to_owned(), Value::Object(new));
                    }
                },
                simple => {
                    holder.insert(name.to_owned(), simple);
                }
            }
        }
        (_, Some(sub)) => {
            if attribute.multi_valued {
                return Err(ScimError::invalid_path(format!(
                    "{name}.{} names a sub-attribute of every element; use a value filter",
                    sub.name
                )));
            }
            let value = resource::coerce_single(
                sub,
                value.unwrap_or(Value::Null),
                &format!("{name}.{}", sub.name),
            )?;
            let slot = holder
                .entry(name.to_owned())
                .or_insert_with(|| Value::Object(Object::new()));
            if !slot.is_object() {
                *slot = Value::Object(Object::new());
            }
            if let Value::Object(object) = slot {
                if value.is_null() {
                    object.remove(sub.name);
                } else {
                    object.insert(sub.name.to_owned(), value);
                }
            }
        }
    }
    Ok(())
}

fn apply_filtered(
    holder: &mut Object,
    op: OpKind,
    attribute: &Attribute,
    filter: &Filter,
    sub: Option<&Attribute>,
    value: Option<Value>,
    path: &str,
) -> ScimResult<()> {
    if !attribute.multi_valued || attribute.kind != Kind::Complex {
        return Err(ScimError::invalid_path(format!(
            "{path}: value filters apply to multi-valued attributes"
        )));
    }
    let name = attribute.name;
    let mut elements = match holder.remove(name) {
        Some(Value::Array(elements)) => elements,
        _ => Vec::new(),
    };
    let mut matched = Vec::new();
    for (index, element) in elements.iter().enumerate() {
        if filter::matches(filter, element, attribute.sub_attributes)? {
            matched.push(index);
        }
    }
    match (op, sub) {
        (OpKind::Remove, None) => {
            let mut index = 0;
            elements.retain(|_| {
                let keep = !matched.contains(&index);
                index += 1;
                keep
            });
        }
        (OpKind::Remove, Some(sub)) => {
            for index in &matched {
                if let Some(Value::Object(object)) = elements.get_mut(*index) {
                    object.remove(sub.name);
                }
            }
        }
        (_, Some(sub)) => {
            let value = resource::coerce_single(sub, value.unwrap_or(Value::Null), path)?;
            if matched.is_empty() {
                // Upsert: `emails[type eq "work"].value` on a user without a work email.
                let mut element = seed_from_filter(filter, attribute)
                    .ok_or_else(|| ScimError::no_target(format!("{path} matches nothing")))?;
                element.insert(sub.name.to_owned(), value.clone());
                elements.push(Value::Object(element));
                matched.push(elements.len() - 1);
            } else {
                for index in &matched {
                    if let Some(Value::Object(object)) = elements.get_mut(*index) {
                        object.insert(sub.name.to_owned(), value.clone());
                    }
                }
            }
            if sub.name == "primary" && value == Value::Bool(true) {
                demote_other_primaries(&mut elements, &matched);
            }
        }
        (_, None) => {
            let value = resource::coerce_single(attribute, value.unwrap_or(Value::Null), path)?;
            let Value::Object(new) = value else {
                return Err(ScimError::invalid_value(format!("{path} takes an object")));
            };
            if matched.is_empty() {
                // RFC 7644 §3.5.2.3: a replace whose filter matches nothing fails; an add
                // creates the element.
                if op == OpKind::Replace {
                    return Err(ScimError::no_target(format!("{path} matches nothing")));
                }
                let mut element = seed_from_filter(filter, attribute).unwrap_or_default();
                element.extend(new);
                elements.push(Value::Object(element));
            } else {
                for index in &matched {
                    if let Some(Value::Object(object)) = elements.get_mut(*index) {
                        object.extend(new.clone());
                    }
                }
            }
        }
    }
    holder.insert(name.to_owned(), Value::Array(elements));
    Ok(())
}

/// The element an upsert creates from the filter's `eq` terms (`type eq "work"` → `{"type":
/// "work"}`); `None` when the filter is not a conjunction of equalities.
fn seed_from_filter(filter: &Filter, attribute: &Attribute) -> Option<Object> {
    match filter {
        Filter::And(left, right) => {
            let mut seed = seed_from_filter(left, attribute)?;
            seed.extend(seed_from_filter(right, attribute)?);
            Some(seed)
        }
        Filter::Compare {
            path,
            op: Op::Eq,
            value,
        } => {
            let sub = schema::find(attribute.sub_attributes, path)?;
            let value = match value {
                Literal::Text(text) => {
                    resource::coerce_single(sub, Value::String(text.clone()), path).ok()?
                }
                Literal::Bool(flag) => Value::Bool(*flag),
                _ => return None,
            };
            Some(Object::from_iter([(sub.name.to_owned(), value)]))
        }
        _ => None,
    }
}

/// What an element is matched by: its `value` (case-folded unless the attribute's values are
/// case-exact), or the whole element when it has no string value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ElementKey {
    Value(String),
    Whole(String),
}

fn element_key(case_exact: bool, element: &Value) -> (ElementKey, Option<String>) {
    match element.get("value").and_then(Value::as_str) {
        Some(value) if case_exact => (ElementKey::Value(value.to_owned()), element_type(element)),
        Some(value) => (
            ElementKey::Value(value.to_lowercase()),
            element_type(element),
        ),
        None => (ElementKey::Whole(element.to_string()), None),
    }
}

fn element_type(element: &Value) -> Option<String> {
    element
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
}

fn case_exact(attribute: &Attribute) -> bool {
    schema::find(attribute.sub_attributes, "value").is_some_and(|value| value.case_exact)
}

/// Two elements are the same when their `value` (and `type`, when both have one) agree.
fn same_element(attribute: &Attribute, left: &Value, right: &Value) -> bool {
    let exact = case_exact(attribute);
    let ((left_key, left_type), (right_key, right_type)) =
        (element_key(exact, left), element_key(exact, right));
    left_key == right_key
        && match (left_type, right_type) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
}

/// Elements found by value and type in constant time, so that a union or removal of n values
/// costs O(n), not O(n²) (one PATCH of thousands of emails once held a worker for seconds).
struct ElementSet {
    case_exact: bool,
    /// The first element with this value and type.
    typed: HashMap<(ElementKey, String), usize>,
    /// The first element with this value and no type.
    untyped: HashMap<ElementKey, usize>,
    /// The first element with this value, whatever its type.
    any: HashMap<ElementKey, usize>,
}

impl ElementSet {
    fn of(attribute: &Attribute, elements: &[Value]) -> Self {
        let mut set = ElementSet {
            case_exact: case_exact(attribute),
            typed: HashMap::new(),
            untyped: HashMap::new(),
            any: HashMap::new(),
        };
        for (index, element) in elements.iter().enumerate() {
            set.insert(index, element);
        }
        set
    }

    fn insert(&mut self, index: usize, element: &Value) {
        let (key, kind) = element_key(self.case_exact, element);
        self.any.entry(key.clone()).or_insert(index);
        match kind {
            Some(kind) => self.typed.entry((key, kind)).or_insert(index),
            None => self.untyped.entry(key).or_insert(index),
        };
    }

    /// The first element that is the same as `element` (see [`same_element`]), as indexed.
    fn find(&self, element: &Value) -> Option<usize> {
        let (key, kind) = element_key(self.case_exact, element);
        match kind {
            Some(kind) => {
                let typed = self.typed.get(&(key.clone(), kind)).copied();
                let untyped = self.untyped.get(&key).copied();
                typed.into_iter().chain(untyped).min()
            }
            None => self.any.get(&key).copied(),
        }
    }

    fn contains(&self, element: &Value) -> bool {
        self.find(element).is_some()
    }
}

/// `add` on a multi-valued attribute: a set union, an element the same as an existing one merged
/// into it; a new primary demotes the others (the last one sent wins).
fn union(attribute: &Attribute, mut elements: Vec<Value>, new: Vec<Value>) -> Vec<Value> {
    let mut set = ElementSet::of(attribute, &elements);
    let mut primary = None;
    for element in new {
        // A merge can give an untyped element a type: confirm the indexed match, else search.
        let found = set
            .find(&element)
            .filter(|&index| same_element(attribute, &elements[index], &element))
            .or_else(|| {
                set.find(&element).and_then(|_| {
                    elements
                        .iter()
                        .position(|existing| same_element(attribute, existing, &element))
                })
            });
        let index = match found {
            Some(index) => {
                if let (Some(Value::Object(existing)), Value::Object(new)) =
                    (elements.get_mut(index), element)
                {
                    existing.extend(new);
                }
                index
            }
            None => {
                elements.push(element);
                elements.len() - 1
            }
        };
        set.insert(index, &elements[index]);
        if elements[index].get("primary") == Some(&Value::Bool(true)) {
            primary = Some(index);
        }
    }
    if let Some(index) = primary {
        demote_other_primaries(&mut elements, &[index]);
    }
    elements
}

fn demote_other_primaries(elements: &mut [Value], keep: &[usize]) {
    for (index, element) in elements.iter_mut().enumerate() {
        if let Some(object) = element.as_object_mut()
            && !keep.contains(&index)
            && object.get("primary") == Some(&Value::Bool(true))
        {
            object.insert("primary".into(), Value::Bool(false));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::USER_TYPE;

    fn patched(document: Value, body: Value) -> Result<Value, String> {
        let Value::Object(mut document) = document else {
            return Err("not an object".into());
        };
        let operations = parse(body).map_err(|e| e.detail)?;
        apply(&USER_TYPE, &mut document, &operations).map_err(|e| e.detail)?;
        Ok(Value::Object(document))
    }

    #[test]
    fn value_objects_merge_and_take_dotted_and_urn_keys() {
        let document = json!({"userName": "a", "name": {"givenName": "A", "familyName": "B"}});
        let body = json!({"schemas": [schema::PATCH_OP], "Operations": [{"op": "Replace", "value": {
            "name": {"givenName": "X"},
            "name.middleName": "M",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Eng",
            "ACTIVE": "False"
        }}]});
        assert_eq!(
            patched(document, body),
            Ok(json!({
                "userName": "a",
                "name": {"givenName": "X", "familyName": "B", "middleName": "M"},
                "active": false,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng"}
            }))
        );
    }

    #[test]
    fn value_path_upserts_and_removes() {
        let document = json!({"userName": "a"});
        let body = json!({"Operations": [
            {"op": "add", "path": "emails[type eq \"work\"].value", "value": "a@x.org"},
            {"op": "add", "path": "emails", "value": [{"value": "A@X.org", "type": "work"}, {"value": "h@x.org", "type": "home"}]},
            {"op": "remove", "path": "emails[type eq \"home\"]"}
        ]});
        assert_eq!(
            patched(document, body),
            Ok(json!({"userName": "a", "emails": [{"type": "work", "value": "A@X.org"}]}))
        );
    }

    #[test]
    fn bad_operations_fail() {
        let document = json!({"userName": "a"});
        for body in [
            json!({"Operations": [{"op": "move", "path": "userName", "value": "b"}]}),
            json!({"Operations": []}),
            json!({"schemas": ["urn:wrong"], "Operations": [{"op": "add", "path": "title", "value": "b"}]}),
            json!({"Operations": [{"op": "remove"}]}),
            json!({"Operations": [{"op": "replace", "path": "active", "value": "maybe"}]}),
            json!({"Operations": [{"op": "replace", "path": "nosuch", "value": "x"}]}),
            json!({"Operations": [{"op": "replace", "path": "id", "value": "x"}]}),
            json!({"Operations": [{"op": "replace", "path": "emails[type eq \"work\"", "value": "x"}]}),
            json!({"Operations": [{"op": "replace", "path": "title", "value": {"a": 1}}]}),
        ] {
            assert!(
                patched(document.clone(), body.clone()).is_err(),
                "{body} applied"
            );
        }
    }
}
