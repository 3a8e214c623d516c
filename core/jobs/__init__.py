"""Jobs: categories, postings and their life (publish, close, renew, expire), the public listing
query and the store of its cached, ready-to-send pages."""
