//! Every message of the protocol, as one enum tagged by its `type` field.

use crate::handshake::{Hello, Login, LoginChallenge, LoginOk, LoginProof, SiteProof};
use crate::request::{
    Cd, Df, Get, Ls, Mkdir, Mv, PartialRm, Partials, Put, PutData, PutEnd, PutSmall, Pwd, Rm,
    Rmdir, ShareAdd, ShareRm, Shares, Stat, TokenAdd, TokenRm, Tokens, Trash, TrashPurge,
    TrashRestore, VersionRestore, Versions, VersionsPurge,
};
use crate::response::{
    Cwd, Done, Error, GetData, GetEnd, Info, Listing, PartialList, Purged, PutDone, PutReady,
    Restored, ShareList, ShareMade, TokenList, TokenMade, TrashList, Usage, VersionList,
};
use serde::{Deserialize, Serialize};

/// A frame's JSON header. `{"type": "mkdir", "id": 7, "path": "docs"}`
/// is `Message::Mkdir(Mkdir { id: 7, path: "docs".into(), parents: false })`.
/// Unknown fields are ignored (newer peers may add some); unknown types are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    // Handshake and login.
    Hello(Hello),
    SiteProof(SiteProof),
    Login(Login),
    LoginChallenge(LoginChallenge),
    LoginProof(LoginProof),
    LoginOk(LoginOk),
    // Requests.
    Pwd(Pwd),
    Cd(Cd),
    Ls(Ls),
    Stat(Stat),
    Mkdir(Mkdir),
    Rm(Rm),
    Rmdir(Rmdir),
    Mv(Mv),
    Df(Df),
    Partials(Partials),
    PartialRm(PartialRm),
    Put(Put),
    PutData(PutData),
    PutEnd(PutEnd),
    PutSmall(PutSmall),
    Get(Get),
    ShareAdd(ShareAdd),
    Shares(Shares),
    ShareRm(ShareRm),
    TokenAdd(TokenAdd),
    Tokens(Tokens),
    TokenRm(TokenRm),
    Trash(Trash),
    TrashRestore(TrashRestore),
    TrashPurge(TrashPurge),
    Versions(Versions),
    VersionRestore(VersionRestore),
    VersionsPurge(VersionsPurge),
    // Responses.
    #[serde(rename = "ok")]
    Done(Done),
    Cwd(Cwd),
    Listing(Listing),
    Info(Info),
    Usage(Usage),
    PartialList(PartialList),
    PutReady(PutReady),
    PutDone(PutDone),
    GetData(GetData),
    GetEnd(GetEnd),
    #[serde(rename = "share")]
    ShareMade(ShareMade),
    ShareList(ShareList),
    #[serde(rename = "token")]
    TokenMade(TokenMade),
    TokenList(TokenList),
    TrashList(TrashList),
    VersionList(VersionList),
    Restored(Restored),
    Purged(Purged),
    Error(Error),
}

impl Message {
    /// Bytes of raw body that follow this header on the wire.
    pub fn body_len(&self) -> u64 {
        match self {
            Message::PutData(m) => m.size,
            Message::PutSmall(m) => m.size,
            Message::GetData(m) => m.size,
            _ => 0,
        }
    }

    /// The request id this message carries or answers, if any.
    pub fn id(&self) -> Option<u64> {
        match self {
            Message::Hello(_) | Message::SiteProof(_) => None,
            Message::Login(m) => Some(m.id),
            Message::LoginChallenge(m) => Some(m.id),
            Message::LoginProof(m) => Some(m.id),
            Message::LoginOk(m) => Some(m.id),
            Message::Pwd(m) => Some(m.id),
            Message::Cd(m) => Some(m.id),
            Message::Ls(m) => Some(m.id),
            Message::Stat(m) => Some(m.id),
            Message::Mkdir(m) => Some(m.id),
            Message::Rm(m) => Some(m.id),
            Message::Rmdir(m) => Some(m.id),
            Message::Mv(m) => Some(m.id),
            Message::Df(m) => Some(m.id),
            Message::Partials(m) => Some(m.id),
            Message::PartialRm(m) => Some(m.id),
            Message::Put(m) => Some(m.id),
            Message::PutData(m) => Some(m.id),
            Message::PutEnd(m) => Some(m.id),
            Message::PutSmall(m) => Some(m.id),
            Message::Get(m) => Some(m.id),
            Message::ShareAdd(m) => Some(m.id),
            Message::Shares(m) => Some(m.id),
            Message::ShareRm(m) => Some(m.id),
            Message::TokenAdd(m) => Some(m.id),
            Message::Tokens(m) => Some(m.id),
            Message::TokenRm(m) => Some(m.id),
            Message::ShareMade(m) => Some(m.id),
            Message::ShareList(m) => Some(m.id),
            Message::TokenMade(m) => Some(m.id),
            Message::TokenList(m) => Some(m.id),
            Message::Done(m) => Some(m.id),
            Message::Cwd(m) => Some(m.id),
            Message::Listing(m) => Some(m.id),
            Message::Info(m) => Some(m.id),
            Message::Usage(m) => Some(m.id),
            Message::PartialList(m) => Some(m.id),
            Message::PutReady(m) => Some(m.id),
            Message::PutDone(m) => Some(m.id),
            Message::GetData(m) => Some(m.id),
            Message::GetEnd(m) => Some(m.id),
            Message::Trash(m) => Some(m.id),
            Message::TrashRestore(m) => Some(m.id),
            Message::TrashPurge(m) => Some(m.id),
            Message::Versions(m) => Some(m.id),
            Message::VersionRestore(m) => Some(m.id),
            Message::VersionsPurge(m) => Some(m.id),
            Message::TrashList(m) => Some(m.id),
            Message::VersionList(m) => Some(m.id),
            Message::Restored(m) => Some(m.id),
            Message::Purged(m) => Some(m.id),
            Message::Error(m) => m.id,
        }
    }

    /// The wire name of this message's type, for logs and error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Message::Hello(_) => "hello",
            Message::SiteProof(_) => "site_proof",
            Message::Login(_) => "login",
            Message::LoginChallenge(_) => "login_challenge",
            Message::LoginProof(_) => "login_proof",
            Message::LoginOk(_) => "login_ok",
            Message::Pwd(_) => "pwd",
            Message::Cd(_) => "cd",
            Message::Ls(_) => "ls",
            Message::Stat(_) => "stat",
            Message::Mkdir(_) => "mkdir",
            Message::Rm(_) => "rm",
            Message::Rmdir(_) => "rmdir",
            Message::Mv(_) => "mv",
            Message::Df(_) => "df",
            Message::Partials(_) => "partials",
            Message::PartialRm(_) => "partial_rm",
            Message::Put(_) => "put",
            Message::PutSmall(_) => "put_small",
            Message::PutData(_) => "put_data",
            Message::PutEnd(_) => "put_end",
            Message::Get(_) => "get",
            Message::ShareAdd(_) => "share_add",
            Message::Shares(_) => "shares",
            Message::ShareRm(_) => "share_rm",
            Message::TokenAdd(_) => "token_add",
            Message::Tokens(_) => "tokens",
            Message::TokenRm(_) => "token_rm",
            Message::ShareMade(_) => "share",
            Message::ShareList(_) => "share_list",
            Message::TokenMade(_) => "token",
            Message::TokenList(_) => "token_list",
            Message::Done(_) => "ok",
            Message::Cwd(_) => "cwd",
            Message::Listing(_) => "listing",
            Message::Info(_) => "info",
            Message::Usage(_) => "usage",
            Message::PartialList(_) => "partial_list",
            Message::PutReady(_) => "put_ready",
            Message::PutDone(_) => "put_done",
            Message::GetData(_) => "get_data",
            Message::GetEnd(_) => "get_end",
            Message::Trash(_) => "trash",
            Message::TrashRestore(_) => "trash_restore",
            Message::TrashPurge(_) => "trash_purge",
            Message::Versions(_) => "versions",
            Message::VersionRestore(_) => "version_restore",
            Message::VersionsPurge(_) => "versions_purge",
            Message::TrashList(_) => "trash_list",
            Message::VersionList(_) => "version_list",
            Message::Restored(_) => "restored",
            Message::Purged(_) => "purged",
            Message::Error(_) => "error",
        }
    }
}

/// A shorthand for building error responses.
impl Message {
    pub fn error(id: Option<u64>, code: crate::ErrorCode, message: impl Into<String>) -> Message {
        Message::Error(Error {
            id,
            code,
            message: message.into(),
        })
    }
}
