"""Users, API tokens, roles and the audit log.

Interface (the server's auth dependency and audit middleware are written against it; the helper
building this package fills in the bodies and may add to it, but keeps these names):

    class Role(StrEnum): VIEWER="viewer", EDITOR="editor", ADMIN="admin"
    Role.allows(self, needed: Role) -> bool

    @dataclass(frozen=True) class Principal: user: str; role: Role; token_id: str

    class AuthService:
        def __init__(self, store: Store) -> None
        def create_user(self, name: str, role: Role | str) -> tuple[User, str]  # + first token
        def get_user(self, name: str) -> User
        def list_users(self) -> list[User]
        def set_role(self, name: str, role: Role | str) -> User
        def create_token(self, user: str, *, description=None) -> tuple[TokenInfo, str]
        def revoke_token(self, token_id: str) -> None
        def list_tokens(self, user: str | None = None) -> list[TokenInfo]
        def authenticate(self, token: str) -> Principal  # Unauthenticated
        def record(self, event: AuditEvent) -> None
        def list_audit(self, *, user=None, action=None, limit=100, page_token=None) -> AuditPage

    AuditEvent(user, action: str, target: str, source: str | None, status: int, time_ms: int)
"""
