"""Web pages served beside the API; all assets ship in the package."""
