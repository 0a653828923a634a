"""Messaging-platform connectors: Rasa input channels for WeCom, Feishu and DingTalk
(Rasa ships none), and Rasa's Telegram, Slack and Messenger channels with what they
lack (callback dedupe, signature checks, ShopMate's rich payloads). docs/channels.md."""
