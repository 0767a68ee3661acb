# frozen_string_literal: true

# The query cache as Rails 6.1 runs it: ActionDispatch::Executor around the
# app, ActiveRecord::QueryCache's executor hooks enabling the cache on run
# and clearing it (and releasing the connection) on complete, which happens
# when the response body is closed. MemTrack::Rack sits outside the executor
# (insert_before 0), so it sees the cache still filled when the app returns.
require_relative "helper"
require "active_record"
require "action_dispatch"

# Outside a Rails app nobody fills the legacy connection_handlers map, and
# the executor hook would find no pool; 6.1's new handling finds it.
ActiveRecord::Base.legacy_connection_handling = false
ActiveRecord::Base.establish_connection(adapter: "sqlite3", database: ":memory:")
ActiveRecord::Migration.verbose = false
ActiveRecord::Schema.define do
  create_table(:qc_items) { |t| t.string :name }
end

class QcItem < ActiveRecord::Base; end

QcItem.create!(name: "a")
QcItem.create!(name: "b")

class TestQueryCache < Minitest::Test
  include MemTrackTestHelper

  def setup
    @executor = Class.new(ActiveSupport::Executor)
    ActiveRecord::QueryCache.install_executor_hooks(@executor)
    ActiveRecord::Base.connection_pool.disable_query_cache!
    ActiveRecord::Base.connection_handler.clear_active_connections!
  end

  def queries_app
    lambda do |env|
      env["memtrack.queries"] = [
        QcItem.count,
        QcItem.where(name: "a").to_a.size,
        QcItem.where(name: "a").to_a.size, # served by the cache
        QcItem.find_by(name: "b")&.id
      ]
      [200, {}, ["ok"]]
    end
  end

  def test_outside_the_executor_sees_the_filled_cache
    mw = MemTrack::Rack.new(ActionDispatch::Executor.new(queries_app, @executor))
    _s, headers, body, = call_app(mw)
    h = parse_strict(header_of(headers))
    assert_equal 0, h["qc_before"]
    assert_equal 3, h["qc_after"] # three distinct queries cached
    body.close # completes the executor: cache cleared, connection released
    refute ActiveRecord::Base.connection_pool.active_connection?
    _s, headers, body, = call_app(mw)
    body.close
    assert_equal 0, parse_strict(header_of(headers))["qc_before"]
  end

  def test_without_a_query_cache_reports_zero
    _s, headers, = call_app(MemTrack::Rack.new(queries_app))
    h = parse_strict(header_of(headers))
    assert_equal 0, h["qc_before"]
    assert_equal 0, h["qc_after"]
  end

  def test_pool_list_is_reused_per_handler_for_a_second
    counting = Class.new do
      attr_reader :calls

      def initialize(pools)
        @pools = pools
        @calls = 0
      end

      def connection_pool_list
        @calls += 1
        @pools
      end
    end
    a = counting.new([:pa])
    b = counting.new([:pb])
    qc = MemTrack::Rack::QueryCache
    assert_equal [:pa], qc.pools_of(a)
    assert_equal [:pa], qc.pools_of(a)
    assert_equal 1, a.calls, "asked once within the TTL"
    assert_equal [:pb], qc.pools_of(b), "another handler is asked itself"
    assert_equal 1, b.calls
    assert_equal [:pa], qc.pools_of(a)
    assert_equal 2, a.calls, "switching back asks again"
    qc.instance_variable_set(:@pools, [a, -1e9, [:stale]].freeze)
    assert_equal [:pa], qc.pools_of(a), "an expired entry is refreshed"
    assert_equal 3, a.calls
  ensure
    qc&.instance_variable_set(:@pools, nil)
  end

  def test_size_of_rails61_cache_layout
    conn = Struct.new(:query_cache).new({ "a" => { [] => 1, [1] => 2 }, "b" => { [] => 3 } })
    assert_equal 3, MemTrack::Rack::QueryCache.size(conn)
    assert_equal 0, MemTrack::Rack::QueryCache.size(Object.new)
  end
end
