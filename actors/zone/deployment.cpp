#include "actors/zone/zone_state.hpp"

namespace fusion::zone::manager {

namespace {

/// One deployment in progress. Its hold (marked deploying: it neither expires nor can be
/// released) sizes it and keeps its resources until the instances run or it fails.
struct deploy_ctx {
  caf::typed_response_promise<deploy_service_reply> rp;
  uint64_t hold_number = 0;  // in the ledger
  service_uri service;
  blob parameters;
  std::string image;
  duration_ms step_timeout = 0;
  std::vector<fusion_id> environments;  // prepared so far (rolled back on failure)
  std::vector<std::string> launched;    // instance ids, whose slot reports count
  std::vector<hosted_instance> started;
};

void deploy_fail(self_ptr self, std::shared_ptr<deploy_ctx> ctx, const std::string& step,
                 const caf::error& err) {
  auto& st = self->state;
  for (const auto& env : ctx->environments)
    self->request(st.dc, ms(ctx->step_timeout), terminate_service_environment{env})
        .then([](status_reply&) {}, [](caf::error&) {});
  for (const auto& id : ctx->launched) stop_counting(self, id);
  st.ledger.drop(ctx->hold_number);
  ++st.deploy_failures;
  schedule_report(self);
  auto why = "zone " + st.zone() + ": deploying " + ctx->service + " failed at " + step + ": " +
             describe(err) + "; nothing was left running";
  st.log->warn("{}", why);
  // The real cause: a FUSION code keeps its code; a timeout is a deadline; anything else (an
  // agent or instance that went away) is deployment_failed, never a capacity problem.
  if (err == caf::sec::request_timeout)
    ctx->rp.deliver(fusion::make_error(errc::deadline_exceeded, std::move(why)));
  else if (err.category() == errc_category)
    ctx->rp.deliver(caf::error{err.code(), errc_category, caf::make_message(std::move(why))});
  else
    ctx->rp.deliver(fusion::make_error(errc::deployment_failed, std::move(why)));
}

/// The deployment's hold: how many instances, of what size. deploy_prepare checks it is
/// there before each instance; only deploy_fail and deploy_commit drop it.
const hold& terms(self_ptr self, const deploy_ctx& ctx) {
  return *self->state.ledger.find(ctx.hold_number);
}

void deploy_commit(self_ptr self, std::shared_ptr<deploy_ctx> ctx) {
  auto& st = self->state;
  st.ledger.drop(ctx->hold_number);
  deploy_service_reply reply;
  for (auto& rec : ctx->started) {
    st.ledger.use(rec.use());
    reply.instance_ids.push_back(fusion_id{rec.id});
    reply.instances.push_back(rec.where);
    st.instances.push_back(std::move(rec));
  }
  st.deployed += ctx->started.size();
  forget_gateway_orders(self);
  schedule_report(self);
  ctx->rp.deliver(std::move(reply));
}

// The steps of deploying one instance, each a handler of the previous step's answer:
// deploy_prepare (an environment from the DC agent) -> deploy_launch (the instance in it)
// -> deploy_start (service_start on the instance) -> deploy_started (recorded), then the
// next instance, or deploy_commit once all run. Any failure goes to deploy_fail.

void deploy_prepare(self_ptr self, std::shared_ptr<deploy_ctx> ctx);

void deploy_started(self_ptr self, std::shared_ptr<deploy_ctx> ctx, const fusion_id& environment,
                    const instance_launched& launched) {
  const auto& h = terms(self, *ctx);
  const auto& per = h.per_instance;
  hosted_instance rec;
  rec.id = launched.instance_id.value;
  rec.service = ctx->service;
  rec.environment = environment;
  rec.where = launched.instance;
  rec.max_sessions = h.sessions_per_instance;
  rec.cores = static_cast<uint32_t>(per.cores);
  rec.memory_mb = per.memory_mb;
  rec.gpus = static_cast<uint32_t>(per.gpus);
  ctx->started.push_back(std::move(rec));
  deploy_prepare(self, std::move(ctx));
}

void deploy_start(self_ptr self, std::shared_ptr<deploy_ctx> ctx, fusion_id environment,
                  instance_launched launched) {
  // It reports its slots as soon as it runs, before the whole deployment is committed.
  ctx->launched.push_back(launched.instance_id.value);
  expect_reports(self, launched.instance_id.value, ctx->service);
  auto inst = caf::actor_cast<service_lifecycle_actor>(self->state.dir->resolve(launched.instance));
  if (!inst) {
    deploy_fail(self, ctx, "start",
                fusion::make_error(errc::unknown_instance, "instance " + launched.instance.actor +
                                                               " is not in the directory"));
    return;
  }
  self->request(inst, ms(ctx->step_timeout),
                service_start{ctx->parameters, terms(self, *ctx).sessions_per_instance})
      .then(
          [=](status_reply& r) {
            if (r.code != status::ok)
              deploy_fail(self, ctx, "start", fusion::make_error(errc::invalid_state, r.detail));
            else
              deploy_started(self, ctx, environment, launched);
          },
          [=](caf::error& e) { deploy_fail(self, ctx, "start", e); });
}

void deploy_launch(self_ptr self, std::shared_ptr<deploy_ctx> ctx, fusion_id environment) {
  ctx->environments.push_back(environment);
  auto inst_id = self->state.instance_ids.make();
  self->request(self->state.dc, ms(ctx->step_timeout),
                launch_instance{environment, inst_id, ctx->service})
      .then([=](instance_launched& launched) { deploy_start(self, ctx, environment, launched); },
            [=](caf::error& e) { deploy_fail(self, ctx, "launch", e); });
}

/// Prepares the next instance's environment, or commits when all instances run.
void deploy_prepare(self_ptr self, std::shared_ptr<deploy_ctx> ctx) {
  auto& st = self->state;
  if (st.ledger.find(ctx->hold_number) == nullptr) {  // cannot happen: only fail or commit drop it
    deploy_fail(self, ctx, "prepare",
                fusion::make_error(errc::invalid_state, "the deployment's reservation is gone"));
    return;
  }
  const auto& h = terms(self, *ctx);
  if (ctx->started.size() == h.instances) {
    deploy_commit(self, ctx);
    return;
  }
  const auto& per = h.per_instance;
  prepare_service_environment prep;
  prep.service_name = ctx->service;
  prep.env.type = "actor";
  prep.env.cpu_cores = static_cast<uint32_t>(per.cores);
  prep.env.memory_mb = per.memory_mb;
  prep.env.gpus = static_cast<uint32_t>(per.gpus);
  prep.env.image = ctx->image;
  self->request(st.dc, ms(ctx->step_timeout), std::move(prep))
      .then([=](environment_reply& env) { deploy_launch(self, ctx, env.environment_id); },
            [=](caf::error& e) { deploy_fail(self, ctx, "prepare", e); });
}

}  // namespace

caf::result<deploy_service_reply> deploy(self_ptr self, zone_deploy_service& req) {
  auto& st = self->state;
  auto service = req.service_name.empty() ? req.service.name : req.service_name;
  auto ctx = std::make_shared<deploy_ctx>();
  ctx->service = service;
  ctx->parameters = req.service_parameters;  // note_service keeps them too
  ctx->image = req.service.image;
  ctx->step_timeout = req.timeout_ms > 0 ? req.timeout_ms : st.cfg.deployment.step_timeout_ms;
  auto now = runtime::mono_now(self);
  if (!req.offer_id.empty()) {
    auto n = st.open_offer(req.offer_id.value, now);
    if (n == 0)
      return fusion::make_error(errc::offer_expired, "zone " + st.zone() + ": offer '" +
                                                         req.offer_id.value +
                                                         "' is unknown or expired; evaluate again");
    const auto& h = *st.ledger.find(n);
    if (h.service != service)
      return fusion::make_error(
          errc::invalid_argument,
          "offer '" + req.offer_id.value + "' was made for " + h.service + ", not for " + service);
    // Deploy what was asked, within what the offer reserved; give back the rest.
    auto want =
        req.deploy.instances > 0 ? std::min(req.deploy.instances, h.instances) : h.instances;
    hold consumed = h;
    consumed.instances = want;
    consumed.deploying = true;
    consumed.expires_at = runtime::mono_time::max();
    if (req.deploy.sessions_per_instance > 0)
      consumed.sessions_per_instance = req.deploy.sessions_per_instance;
    st.ledger.drop(n);
    ctx->hold_number = st.ledger.add(std::move(consumed));
  } else {
    auto requested = std::max<uint32_t>(1, req.deploy.instances);
    evaluation ev;
    evaluator::score_zone_into(st.cfg.parameters, st.free(), req.service, req.deploy, ev);
    if (!ev.feasible)
      return fusion::make_error(errc::insufficient_capacity,
                                "zone " + st.zone() + ": " + refusal_words(ev.code, ev.details));
    if (ev.instances < requested || st.ledger.fit({}) < requested) {
      const auto& hw = req.service.hardware;
      auto free = st.free();
      return fusion::make_error(
          errc::insufficient_capacity,
          "zone " + st.zone() + " cannot host " + std::to_string(requested) + " instances of " +
              service + ": they need " + std::to_string(uint64_t{hw.cpu_cores} * requested) +
              " cores, " + std::to_string(hw.memory_mb * requested) + " MB, " +
              std::to_string(uint64_t{hw.gpus} * requested) + " GPUs; free are " +
              std::to_string(free.free_cpu_cores) + " cores, " +
              std::to_string(free.free_memory_mb) + " MB, " + std::to_string(free.free_gpus) +
              " GPUs and room for " +
              std::to_string(std::min<uint64_t>(ev.instances, st.ledger.fit({}))) + " instances");
    }
    hold h;
    h.service = service;
    h.instances = requested;
    const auto& hw = req.service.hardware;
    h.per_instance = {hw.cpu_cores, hw.memory_mb, hw.gpus, 1};
    h.sessions_per_instance = req.deploy.sessions_per_instance > 0
                                  ? req.deploy.sessions_per_instance
                                  : req.service.sessions_per_instance;
    h.deploying = true;
    ctx->hold_number = st.ledger.add(std::move(h));
  }
  note_service(self, req);
  ctx->rp = self->make_response_promise<deploy_service_reply>();
  deploy_prepare(self, ctx);
  return ctx->rp;
}

}  // namespace fusion::zone::manager
