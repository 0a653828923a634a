"""ShopMate action server package. rasa-sdk imports every submodule it finds here."""
