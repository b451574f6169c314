from backend.auth.models import Account
from backend.auth.principal import Role


async def test_health_and_me(client, accounts):
    resp = await client.get("/healthz")
    assert resp.status == 200
    resp = await client.get("/readyz")
    assert resp.status == 200, await resp.text()
    account, headers = await accounts.headers(Role.LITIGANT)
    resp = await client.get("/api/v1/auth/me", headers=headers)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["id"] == str(account.id)
    assert await Account.filter(id=account.id).exists()
