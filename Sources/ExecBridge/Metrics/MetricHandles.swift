import Metrics

// swift-metrics' types under names that do not collide with swift-prometheus' own `Counter`
// and `Gauge` in files that import both.
typealias MetricCounter = Counter
typealias MetricMeter = Meter
typealias MetricTimer = Timer
