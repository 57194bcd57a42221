//! Diesel table definitions, shared by both backends (see `migrations/`).

diesel::table! {
    tenants (id) {
        id -> Text,
        name -> Text,
        scim_enabled -> Integer,
        settings -> Text,
        version -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        tenant_id -> Text,
        user_name -> Text,
        user_name_key -> Text,
        external_id -> Nullable<Text>,
        display_name -> Nullable<Text>,
        display_name_key -> Nullable<Text>,
        given_name -> Nullable<Text>,
        given_name_key -> Nullable<Text>,
        family_name -> Nullable<Text>,
        family_name_key -> Nullable<Text>,
        active -> Integer,
        attributes -> Text,
        managed_by -> Text,
        version -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
        role -> Text,
    }
}

diesel::table! {
    user_emails (user_id, position) {
        user_id -> Text,
        position -> Integer,
        tenant_id -> Text,
        value -> Text,
        value_key -> Text,
        kind -> Text,
        is_primary -> Integer,
        display -> Text,
    }
}

diesel::table! {
    groups (id) {
        id -> Text,
        tenant_id -> Text,
        display_name -> Text,
        display_name_key -> Text,
        external_id -> Nullable<Text>,
        managed_by -> Text,
        version -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    memberships (group_id, user_id) {
        group_id -> Text,
        user_id -> Text,
        tenant_id -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        tenant_id -> Nullable<Text>,
        kind -> Text,
        access -> Text,
        name -> Text,
        prefix -> Text,
        secret_hash -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        expires_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
        created_by -> Text,
        replaced_by -> Nullable<Text>,
    }
}

diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(memberships -> groups (group_id));
diesel::joinable!(user_emails -> users (user_id));
diesel::joinable!(api_keys -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    users,
    user_emails,
    groups,
    memberships,
    api_keys,
);

diesel::table! {
    event_sequence (id) {
        id -> Integer,
        last -> BigInt,
        pruned_through -> BigInt,
    }
}

diesel::table! {
    events (sequence) {
        sequence -> BigInt,
        tenant_id -> Text,
        actor_key_id -> Text,
        actor_key_kind -> Text,
        actor_user_id -> Nullable<Text>,
        action -> Text,
        resource_type -> Text,
        resource_id -> Text,
        changes -> Text,
        request_id -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    verified_domains (tenant_id, domain) {
        tenant_id -> Text,
        domain -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    portal_sessions (id) {
        id -> Text,
        tenant_id -> Text,
        user_id -> Text,
        created_by -> Text,
        link_hash -> Text,
        link_expires_at -> BigInt,
        created_at -> BigInt,
        session_hash -> Nullable<Text>,
        started_at -> Nullable<BigInt>,
        expires_at -> Nullable<BigInt>,
        ended_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    provisioning_batches (sequence) {
        sequence -> BigInt,
        tenant_id -> Text,
        key_id -> Text,
        first_request_time -> BigInt,
        last_request_time -> BigInt,
        size -> Integer,
        failures -> Integer,
        outcomes -> Binary,
    }
}
