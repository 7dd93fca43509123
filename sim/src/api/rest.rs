//! get, list (with paging and selectors), create, update, patch and delete, plus the `status`
//! and `scale` subresources. Every write validates first and honours `dryRun=All`.

use std::sync::Arc;

use axum::{
    Json,
    http::{StatusCode, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{Request, ResourcePath, patch, table};
use crate::{
    clock::rfc3339,
    cluster::Cluster,
    resources::ResourceType,
    selector::{FieldSelector, LabelSelector},
    status::ApiError,
    store::Key,
    validation,
};

/// Parses the selectors of a list or watch.
pub fn selectors(request: &Request) -> Result<(LabelSelector, FieldSelector), ApiError> {
    Ok((
        LabelSelector::parse(request.param("labelSelector").unwrap_or_default())?,
        FieldSelector::parse(request.param("fieldSelector").unwrap_or_default())?,
    ))
}

/// A `continue` token: the list's resourceVersion and the last key returned.
fn encode_continue(rv: u64, key: &Key) -> String {
    format!("{rv}.{}.{}", hex(&key.0), hex(&key.1))
}

fn decode_continue(token: &str) -> Result<(u64, Key), ApiError> {
    let bad = || ApiError::bad_request("continue key is not valid: the token does not come from this server");
    let mut parts = token.split('.');
    let rv = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let ns = parts.next().and_then(unhex).ok_or_else(bad)?;
    let name = parts.next().and_then(unhex).ok_or_else(bad)?;
    Ok((rv, (ns, name)))
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> =
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect();
    String::from_utf8(bytes?).ok()
}

pub fn list(cluster: &Cluster, path: &ResourcePath, request: &Request) -> Result<Response, ApiError> {
    let (labels, fields) = selectors(request)?;
    let limit: usize = match request.param("limit") {
        Some(l) => l.parse().map_err(|_| ApiError::bad_request(format!("invalid limit: {l}")))?,
        None => 0,
    };
    let world = cluster.lock();
    let (list_rv, after) = match request.param("continue") {
        Some(token) => {
            let (rv, key) = decode_continue(token)?;
            if world.store.watch_expired(path.rt, rv) {
                return Err(ApiError::gone(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                ));
            }
            (rv, Some(key))
        }
        None => (world.store.resource_version(), None),
    };
    let mut items: Vec<Arc<Value>> = Vec::new();
    let mut last: Option<Key> = None;
    let mut more = false;
    for (key, object) in world.store.list(path.rt, path.namespace.as_deref(), after.as_ref()) {
        if !labels.matches_object(object) || !fields.matches_object(object) {
            continue;
        }
        if limit > 0 && items.len() == limit {
            more = true;
            break;
        }
        items.push(object.clone());
        last = Some(key.clone());
    }
    let now = world.clock.now();
    drop(world);
    let mut metadata = json!({ "resourceVersion": list_rv.to_string() });
    if more && let Some(key) = &last {
        metadata["continue"] = json!(encode_continue(list_rv, key));
    }
    if table::wanted(&request.headers) {
        return Ok(table::render(path.rt, metadata, &items, now));
    }
    Ok(list_response(path.rt, metadata, &items))
}

/// Serialises a list without copying its items into a new tree.
pub fn list_response(rt: &ResourceType, metadata: Value, items: &[Arc<Value>]) -> Response {
    let mut body = Vec::with_capacity(items.len() * 2048 + 256);
    body.extend_from_slice(
        format!(r#"{{"kind":"{}List","apiVersion":"{}","metadata":"#, rt.kind, rt.api_version()).as_bytes(),
    );
    serde_json::to_writer(&mut body, &metadata).expect("JSON values serialise");
    body.extend_from_slice(br#","items":["#);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        serde_json::to_writer(&mut body, item.as_ref()).expect("JSON values serialise");
    }
    body.extend_from_slice(b"]}");
    ([(CONTENT_TYPE, "application/json")], body).into_response()
}

fn name_of(path: &ResourcePath) -> &str {
    path.name.as_deref().unwrap_or_default()
}

fn current(cluster: &Cluster, path: &ResourcePath) -> Result<Arc<Value>, ApiError> {
    cluster
        .lock()
        .store
        .get(path.rt, path.namespace.as_deref().unwrap_or_default(), name_of(path))
        .ok_or_else(|| ApiError::not_found(&plural_group(path.rt), name_of(path)))
}

/// `deployments.apps`, as Kubernetes names a type in errors.
fn plural_group(rt: &ResourceType) -> String {
    if rt.group.is_empty() { rt.plural.to_string() } else { format!("{}.{}", rt.plural, rt.group) }
}

pub fn get(cluster: &Cluster, path: &ResourcePath, request: &Request) -> Result<Response, ApiError> {
    let object = current(cluster, path)?;
    match path.subresource.as_deref() {
        Some("scale") => Ok(Json(scale_of(&object)).into_response()),
        None if table::wanted(&request.headers) => {
            Ok(table::render(path.rt, json!({}), &[object], cluster.now()))
        }
        _ => Ok(Json(object.as_ref()).into_response()),
    }
}

fn body_json(request: &Request) -> Result<Value, ApiError> {
    serde_json::from_slice(&request.body)
        .map_err(|e| ApiError::bad_request(format!("error decoding request body: {e}")))
}

pub fn create(cluster: &Cluster, path: &ResourcePath, request: &Request) -> Result<Response, ApiError> {
    create_object(cluster, path, request, body_json(request)?)
}

fn create_object(
    cluster: &Cluster,
    path: &ResourcePath,
    request: &Request,
    mut object: Value,
) -> Result<Response, ApiError> {
    if let Some(ns) = &path.namespace {
        match object["metadata"]["namespace"].as_str() {
            Some(given) if given != ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => object["metadata"]["namespace"] = json!(ns),
        }
    }
    crate::defaults::apply(path.rt, &mut object);
    validation::validate(path.rt, &object)?;
    let dry_run = request.dry_run()?;
    let manager = request.field_manager()?;
    let mut world = cluster.lock();
    let now = rfc3339(world.clock.now());
    object["apiVersion"] = json!(path.rt.api_version());
    crate::managed_fields::record(None, &mut object, &manager, None, &now);
    if let Some(ns) = &path.namespace
        && world.store.get(&crate::resources::NAMESPACES, "", ns).is_none()
    {
        return Err(ApiError::not_found("namespaces", ns));
    }
    if dry_run {
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        if world.store.get(path.rt, path.namespace.as_deref().unwrap_or_default(), name).is_some() {
            return Err(ApiError::already_exists(&plural_group(path.rt), name));
        }
        return Ok((StatusCode::CREATED, Json(object)).into_response());
    }
    let created = world.store.create(path.rt, object, &now)?;
    Ok((StatusCode::CREATED, Json(created.as_ref())).into_response())
}

pub fn update(cluster: &Cluster, path: &ResourcePath, request: &Request) -> Result<Response, ApiError> {
    let body = body_json(request)?;
    if body["metadata"]["name"].as_str().is_some_and(|n| n != name_of(path)) {
        return Err(ApiError::bad_request("the name of the object does not match the name on the URL"));
    }
    let expected = body["metadata"]["resourceVersion"].as_str().map(str::to_string);
    if path.subresource.is_none() && path.rt.creates_on_update() && current(cluster, path).is_err() {
        // Creating through an update needs the right to create as well (the API server's
        // update handler authorises `create` on the same name before it stores).
        let attrs = crate::auth::Attributes {
            verb: "create",
            group: path.rt.group,
            resource: path.rt.plural,
            namespace: path.namespace.as_deref(),
            name: path.name.as_deref(),
        };
        if !request.rbac.allows(&request.user, &attrs) {
            return Err(ApiError::forbidden(
                &request.user.name,
                "create",
                path.rt.plural,
                path.rt.group,
                path.namespace.as_deref(),
            ));
        }
        let mut object = body;
        object["metadata"]["name"] = json!(name_of(path));
        if let Some(meta) = object["metadata"].as_object_mut() {
            meta.remove("resourceVersion");
        }
        return create_object(cluster, path, request, object);
    }
    if path.subresource.is_none() && expected.is_none() && !path.rt.updates_unconditionally() {
        return Err(ApiError::invalid(
            path.rt.kind,
            name_of(path),
            vec![crate::status::Cause::new(
                "metadata.resourceVersion",
                "Invalid value: 0x0: must be specified for an update",
            )],
        ));
    }
    write(cluster, path, request, expected, |_| Ok(body))
}

pub fn patch(cluster: &Cluster, path: &ResourcePath, request: &Request) -> Result<Response, ApiError> {
    let content_type =
        request.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    write(cluster, path, request, None, |view| {
        let patched = patch::apply(view, &content_type, &request.body)?;
        Ok(patched)
    })
}

/// The read-modify-write behind update and patch, for the object or its subresource.
/// `edit` gets what the client addresses (the object, or its `Scale`) and returns its new form.
fn write(
    cluster: &Cluster,
    path: &ResourcePath,
    request: &Request,
    expected_rv: Option<String>,
    edit: impl FnOnce(&Value) -> Result<Value, ApiError>,
) -> Result<Response, ApiError> {
    let dry_run = request.dry_run()?;
    let manager = request.field_manager()?;
    let mut world = cluster.lock();
    let ns = path.namespace.clone().unwrap_or_default();
    let current = world
        .store
        .get(path.rt, &ns, name_of(path))
        .ok_or_else(|| ApiError::not_found(&plural_group(path.rt), name_of(path)))?;
    let conflict = || ApiError::conflict(&plural_group(path.rt), name_of(path));

    let (next, reply_scale) = match path.subresource.as_deref() {
        Some("scale") => {
            let scale = edit(&scale_of(&current))?;
            let replicas = validation::scale_replicas(name_of(path), &scale)?;
            if let Some(rv) = scale["metadata"]["resourceVersion"].as_str()
                && current["metadata"]["resourceVersion"].as_str() != Some(rv)
            {
                return Err(conflict());
            }
            let mut next = (*current).clone();
            next["spec"]["replicas"] = json!(replicas);
            (next, true)
        }
        Some("status") => {
            let edited = edit(&current)?;
            let mut next = (*current).clone();
            next["status"] = edited["status"].clone();
            check_rv(&edited, &current, expected_rv.as_deref()).map_err(|_| conflict())?;
            (next, false)
        }
        _ => {
            let mut edited = edit(&current)?;
            check_rv(&edited, &current, expected_rv.as_deref()).map_err(|_| conflict())?;
            // The main resource cannot change status; identity comes from the URL.
            edited["status"] = current["status"].clone();
            if edited["status"].is_null()
                && let Some(map) = edited.as_object_mut()
            {
                map.remove("status");
            }
            edited["metadata"]["name"] = current["metadata"]["name"].clone();
            if path.rt.namespaced {
                edited["metadata"]["namespace"] = json!(ns);
            }
            (edited, false)
        }
    };
    let mut next = next;
    crate::defaults::apply(path.rt, &mut next);
    validation::validate(path.rt, &next)?;
    // The server keeps managedFields: what the client sent there is not taken.
    next["metadata"]["managedFields"] = current["metadata"]["managedFields"].clone();
    let now = rfc3339(world.clock.now());
    crate::managed_fields::record(Some(&current), &mut next, &manager, path.subresource.as_deref(), &now);

    let stored = if dry_run {
        Arc::new(next)
    } else {
        let rv = current["metadata"]["resourceVersion"].as_str().map(str::to_string);
        world.store.replace(path.rt, next, rv.as_deref())?
    };
    drop(world);
    if reply_scale {
        Ok(Json(scale_of(&stored)).into_response())
    } else {
        Ok(Json(stored.as_ref()).into_response())
    }
}

/// A resourceVersion in the request (body or patch) is a precondition: it must be current.
fn check_rv(edited: &Value, current: &Value, expected: Option<&str>) -> Result<(), ()> {
    let wanted = expected.or_else(|| edited["metadata"]["resourceVersion"].as_str());
    match wanted {
        Some(rv) if current["metadata"]["resourceVersion"].as_str() != Some(rv) => Err(()),
        _ => Ok(()),
    }
}

pub fn delete(cluster: &Cluster, path: &ResourcePath, request: &Request) -> Result<Response, ApiError> {
    let dry_run = request.dry_run()?;
    let mut world = cluster.lock();
    let ns = path.namespace.clone().unwrap_or_default();
    let object = if dry_run {
        world
            .store
            .get(path.rt, &ns, name_of(path))
            .ok_or_else(|| ApiError::not_found(&plural_group(path.rt), name_of(path)))?
    } else {
        world
            .store
            .delete(path.rt, &ns, name_of(path))
            .map_err(|_| ApiError::not_found(&plural_group(path.rt), name_of(path)))?
    };
    Ok(Json(object.as_ref()).into_response())
}

/// The `autoscaling/v1 Scale` view of a Deployment.
pub fn scale_of(deployment: &Value) -> Value {
    let meta = &deployment["metadata"];
    let selector = deployment["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": { "replicas": deployment["spec"]["replicas"] },
        "status": { "replicas": deployment["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let key = ("payments-core".to_string(), "ledger-7c.x".to_string());
        let token = encode_continue(42, &key);
        assert_eq!(decode_continue(&token).unwrap(), (42, key));
        assert_eq!(decode_continue("nonsense").unwrap_err().code, 400);
    }

    #[test]
    fn the_scale_view_carries_replicas_and_selector() {
        let d = json!({ "metadata": { "name": "a", "namespace": "n", "resourceVersion": "7" },
            "spec": { "replicas": 3, "selector": { "matchLabels": { "app": "a" } } }, "status": { "replicas": 2 } });
        let s = scale_of(&d);
        assert_eq!(s["spec"]["replicas"], 3);
        assert_eq!(s["status"], json!({ "replicas": 2, "selector": "app=a" }));
        assert_eq!(s["metadata"]["resourceVersion"], "7");
    }
}
