"""The platform's domain: what the HTTP routers, the Git server and ``headwater up`` call.

Each service owns its rows and rules (which cluster is the default, who may lose the admin
role, which tokens a password change revokes); routers only translate HTTP to these calls.
"""
