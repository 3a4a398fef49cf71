"""Tests against real outside services: Mosquitto."""
