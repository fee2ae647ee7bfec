//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::OpenApi;

use crate::api;
use crate::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Millrace API",
        description = "BPMN 2.0 process runtime: deployments, instances, tasks, messages. Sign in with POST /api/login (session cookie + X-CSRF-Token) or send Authorization: Bearer <token>."
    ),
    paths(
        api::reference_tables,
        api::reference_table,
        api::put_reference_rows,
        api::login,
        api::logout,
        api::me,
        api::deploy,
        api::definitions,
        api::definition_xml,
        api::retire,
        api::diff,
        api::start,
        api::instances,
        api::instance,
        api::history,
        crate::documents::documents,
        crate::documents::document,
        crate::slas::instance_slas,
        crate::attachments::attachments,
        crate::attachments::add_attachment,
        crate::attachments::attachment,
        crate::heatmap::heatmap,
        crate::heatmap::dashboard,
        crate::admin::tokens,
        crate::admin::create_token,
        crate::admin::revoke_token,
        crate::reports::reports,
        crate::reports::report,
        api::cancel,
        api::modify,
        api::set_variables,
        api::comments,
        api::add_comment,
        api::tasks,
        api::task,
        crate::forms::task_form,
        api::claim,
        api::unclaim,
        api::assign,
        api::complete,
        api::message,
        api::signal,
        api::incidents,
        api::retry,
        api::fetch_and_lock,
        api::external_complete,
        api::external_failure,
        api::users,
        api::outbox,
        api::put_user,
        api::audit,
        api::remove_user,
        api::grants,
        api::add_grant,
        api::remove_grant,
        crate::drafts::library,
        crate::drafts::draft,
        crate::drafts::save_draft,
        crate::drafts::validate_draft,
        crate::drafts::create_draft,
        crate::drafts::draft_diff,
        crate::drafts::deploy_draft,
        crate::drafts::run_scenarios,
        crate::recorder::try_scenario,
        crate::forms::start_form,
        crate::forms::start_forms,
        crate::forms::save_progress,
        crate::api::task_events,
        crate::recorder::save_scenario,
        crate::drafts::check_script,
        crate::drafts::check_file,
        crate::filters::filters,
        crate::filters::save_filter,
        crate::filters::delete_filter,
        crate::batches::preview,
        crate::batches::migrate,
        crate::batches::create,
        crate::batches::batches,
        crate::batches::batch,
        crate::batches::stop,
    ),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

/// The document served at `/api/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
