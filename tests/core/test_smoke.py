def test_categories_list(client, db):
    assert client.get("/api/categories/").status_code == 200
