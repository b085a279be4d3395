"""Deployments: the service that stores them, the supervisor that runs their replicas."""
