"""Training: the mask classifier (MobileNetV2 transfer learning), its data sources and its export to LiteRT."""
