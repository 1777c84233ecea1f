"""The ops console's server side: its page, and signing people in to it (a cookie session
in dev or by OpenID Connect) so that the page can mint short-lived bearer tokens for
/graphql, the same API and permissions as every other client."""
