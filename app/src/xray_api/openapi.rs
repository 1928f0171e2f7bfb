//! The OpenAPI 3.1 document of the REST API, served at `/api/openapi.json`.

use serde_json::{json, Value};

use super::{INVALID_CLIENT_CREDENTIALS, INVALID_TOKEN};

fn error(description: &str, example: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": {
            "schema": { "$ref": "#/components/schemas/Error" },
            "example": { "error": example }
        }}
    })
}

fn authenticate(version: &str) -> Value {
    json!({
        "post": {
            "operationId": format!("authenticate{}", version.to_uppercase()),
            "summary": "Exchange a Client Id and Client Secret for a bearer token",
            "description": "Answers a bare JSON string holding a JWT (HS256) valid for 24 hours that acts on behalf of the API key's user. The token stops working at once when the key is deleted or its secret regenerated, or its user is deactivated.",
            "tags": ["Authentication"],
            "requestBody": {
                "required": true,
                "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/Credentials" }
                }}
            },
            "responses": {
                "200": {
                    "description": "The token, as a JSON string.",
                    "content": { "application/json": {
                        "schema": { "type": "string", "example": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..." }
                    }}
                },
                "400": error("Malformed JSON, a missing or non-string field, a field of the wrong length or characters, or a Content-Type other than application/json.", "The field client_id must be 32 hexadecimal characters."),
                "401": error("Unknown Client Id, wrong secret, deleted key or deactivated user (not told apart).", INVALID_CLIENT_CREDENTIALS),
                "413": error("The body is over 4096 bytes.", "The request body is larger than 4096 bytes."),
                "429": {
                    "description": "A wrong secret from an address that failed 50 times within 15 minutes. Only failures count, per address; a right secret is never refused.",
                    "headers": { "Retry-After": { "schema": { "type": "integer" }, "description": "Seconds to wait." } },
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
                }
            }
        }
    })
}

/// The document; `server_url` is this server's public address.
pub fn document(server_url: &str) -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "xray-keys REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Xray-compatible authentication: tools written for Xray Cloud authenticate here unchanged."
        },
        "servers": [ { "url": format!("{server_url}/api") } ],
        "paths": {
            "/v2/authenticate": authenticate("v2"),
            "/v1/authenticate": authenticate("v1"),
            "/v2/whoami": {
                "get": {
                    "operationId": "whoami",
                    "summary": "The user this token acts for",
                    "tags": ["Authentication"],
                    "security": [ { "bearer": [] } ],
                    "responses": {
                        "200": {
                            "description": "The key's user.",
                            "content": { "application/json": {
                                "schema": { "$ref": "#/components/schemas/Whoami" }
                            }}
                        },
                        "401": error("Missing, malformed, expired or revoked token.", INVALID_TOKEN)
                    }
                }
            }
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" }
            },
            "schemas": {
                "Credentials": {
                    "type": "object",
                    "required": ["client_id", "client_secret"],
                    "properties": {
                        "client_id": { "type": "string", "pattern": "^[0-9A-Fa-f]{32}$" },
                        "client_secret": { "type": "string", "pattern": "^[0-9A-Fa-f]{64}$" }
                    }
                },
                "Whoami": {
                    "type": "object",
                    "required": ["user_key", "display_name", "client_id"],
                    "properties": {
                        "user_key": { "type": "string" },
                        "display_name": { "type": "string" },
                        "client_id": { "type": "string" }
                    }
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": { "error": { "type": "string" } }
                }
            }
        }
    })
}
