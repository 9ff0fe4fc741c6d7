"""Stage 2, features: ResNet50 (ImageNet or fine-tuned weights) to 2048-d vectors; the settings that decide them; the
trained heads' numpy transform."""
