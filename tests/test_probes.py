from fastapi.testclient import TestClient


def test_healthz_answers_without_token(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_api_requires_a_token(client: TestClient) -> None:
    response = client.get("/api/v1/plans")
    assert response.status_code in (401, 404)
