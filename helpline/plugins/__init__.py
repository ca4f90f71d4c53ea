"""Built-in plugins. Each uses only the public hooks, exactly as a third-party plugin would."""
