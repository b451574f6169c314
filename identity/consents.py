"""Consent to processing personal information (PIPL Art. 14, 28-30).

Each purpose has its own notice and its own consent: consent to ``personal_info`` is not consent
to ``biometric_face`` (Art. 29, separate consent for sensitive personal information). A consent
names the notice version the person saw; publishing a new version means asking again. Withdrawal
(Art. 15) is as easy as granting and keeps the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from tortoise.transactions import in_transaction

from backend.auth.principal import Actor
from backend.errors import Forbidden, ValidationFailed
from identity.keys import IdentityDeps
from identity.models import Consent, ConsentPurpose, FaceVerification, LivenessChallenge


@dataclass(frozen=True)
class Notice:
    purpose: ConsentPurpose
    version: str
    title_zh: str
    title_en: str
    text_zh: str
    text_en: str
    sensitive: bool


# The current notice per purpose. Changing a text means a new version: earlier consents then no
# longer count for the new text and the person is asked again.
NOTICES: dict[ConsentPurpose, Notice] = {
    ConsentPurpose.PERSONAL_INFO: Notice(
        purpose=ConsentPurpose.PERSONAL_INFO,
        version="2026-01",
        title_zh="个人信息处理告知",
        title_en="How we process your personal information",
        text_zh=(
            "为依法核验诉讼参与人身份（《人民法院在线诉讼规则》第七条），移动微法院将处理您的姓名、"
            "身份证号码、手机号码和微信标识。身份证号码和手机号码加密存储，在任何页面和日志中均以"
            "掩码显示，仅用于身份核验和向您本人发送诉讼通知，不会提供给您的联系人。信息保存至相关"
            "案件归档期限届满；您可以随时查询、更正或撤回同意，撤回后将无法继续在线办理诉讼事务，"
            "但不影响撤回前已进行的处理。"
        ),
        text_en=(
            "To verify the identity of people taking part in proceedings (Online Litigation Rules "
            "Art. 7), the mobile court processes your name, resident ID number, mobile number and "
            "WeChat identifier. ID and phone numbers are stored encrypted and shown masked on every"
            " page and in every log; they are used only to verify your identity and to send court "
            "notices to you, never to your contacts. They are kept until the retention period of "
            "the related case files ends. You may view, correct or withdraw consent at any time; "
            "after withdrawal you can no longer litigate online, which does not affect processing "
            "done before."
        ),
        sensitive=False,
    ),
    ConsentPurpose.BIOMETRIC_FACE: Notice(
        purpose=ConsentPurpose.BIOMETRIC_FACE,
        version="2026-01",
        title_zh="人脸识别单独同意",
        title_en="Separate consent to face recognition",
        text_zh=(
            "人脸信息属于敏感个人信息（《个人信息保护法》第二十八条）。为确认在线办理诉讼的是您本人，"
            "我们将采集您的人脸图像并进行活体检测，与您提交的身份信息比对；立案后在调解、证据交换和"
            "庭审前还会再次核验。比对完成后人脸图像即删除，仅保留核验结果和时间。该处理的影响：核验"
            "通过后，以您账号进行的诉讼行为视为您本人所为。人脸识别不是唯一方式：您可以拒绝或撤回本"
            "同意，改为到法院由工作人员当面核验身份，这不影响您的诉讼权利。"
        ),
        text_en=(
            "Facial information is sensitive personal information (PIPL Art. 28). To confirm that "
            "it is you who litigates online, we capture your face with a liveness check and compare"
            " it with the identity you gave; this is repeated before mediation, evidence exchange "
            "and hearings. Face images are deleted as soon as the comparison is done; only the "
            "result and its time are kept. Its effect: once verified, acts done from your account "
            "count as your own acts. Face recognition is not the only way: you may refuse or "
            "withdraw this consent and have your identity checked in person by court staff instead,"
            " without any loss of your procedural rights."
        ),
        sensitive=True,
    ),
    ConsentPurpose.E_SERVICE: Notice(
        purpose=ConsentPurpose.E_SERVICE,
        version="2026-01",
        title_zh="电子送达同意",
        title_en="Consent to electronic service",
        text_zh=(
            "您同意人民法院通过移动微法院、短信等电子方式向您送达诉讼文书（《人民法院在线诉讼规则》"
            "第二十九条）。文书到达您的账户即视为送达，送达日期为到达之日。判决书、裁定书如需纸质"
            "文本，可向法院申请。您可以撤回本同意，撤回不影响此前已完成的送达。"
        ),
        text_en=(
            "You agree that the court may serve procedural documents on you electronically, through"
            " the mobile court and by SMS (Online Litigation Rules Art. 29). A document is served "
            "on the day it reaches your account. You may ask the court for a paper copy of a "
            "judgment or ruling. You may withdraw this consent; service completed before is not "
            "affected."
        ),
        sensitive=False,
    ),
}


async def active_consent(account_id: UUID, purpose: ConsentPurpose) -> Consent | None:
    """The account's consent to the *current* notice for ``purpose``, if granted and not
    withdrawn."""
    notice = NOTICES[purpose]
    return await Consent.filter(
        account_id=account_id,
        purpose=purpose.value,
        notice_version=notice.version,
        withdrawn_at__isnull=True,
    ).first()


async def require_consent(account_id: UUID, purpose: ConsentPurpose) -> None:
    """403 ``consent_required`` unless the account consents to the current notice."""
    if await active_consent(account_id, purpose) is None:
        notice = NOTICES[purpose]
        raise Forbidden(
            f"consent to '{purpose.value}' (notice {notice.version}) is required first / "
            f"请先阅读并同意《{notice.title_zh}》",
            code="consent_required",
            extra={"purpose": purpose.value, "notice_version": notice.version},
        )


async def set_consent(
    deps: IdentityDeps,
    account_id: UUID,
    purpose: ConsentPurpose,
    notice_version: str,
    granted: bool,
    actor: Actor,
) -> Consent | None:
    """Grant consent to the current notice, or withdraw every active consent for ``purpose``.

    Granting again is idempotent; granting a new version replaces the old consent. Returns the
    consent now in force (None after a withdrawal).
    """
    notice = NOTICES[purpose]
    if granted and notice_version != notice.version:
        raise ValidationFailed(
            f"notice version {notice_version!r} is not the current one ({notice.version}); "
            "read the current notice / 告知内容已更新，请阅读最新版本",
            code="notice_version_outdated",
            errors=[
                {
                    "location": "body",
                    "field": "notice_version",
                    "message": f"current version is {notice.version}",
                    "type": "notice_version_outdated",
                }
            ],
        )
    now = datetime.now(UTC)
    async with in_transaction() as conn:
        active = (
            await Consent.select_for_update()
            .using_db(conn)
            .filter(account_id=account_id, purpose=purpose.value, withdrawn_at__isnull=True)
        )
        if granted:
            current = next((c for c in active if c.notice_version == notice.version), None)
            if current is not None:
                return current
        withdrawn = [c.id for c in active]
        if withdrawn:
            await Consent.filter(id__in=withdrawn).using_db(conn).update(withdrawn_at=now)
        erased = 0
        if withdrawn and not granted and purpose is ConsentPurpose.BIOMETRIC_FACE:
            # Withdrawal erases what face checks kept beyond their decisions: the binding to
            # the accepted ID portrait (identity.face_service) and any open liveness challenge.
            erased = (
                await FaceVerification.filter(account_id=account_id, reference_digest__isnull=False)
                .using_db(conn)
                .update(reference_digest=None)
            )
            await LivenessChallenge.filter(account_id=account_id).using_db(conn).delete()
        consent = None
        if granted:
            consent = await Consent.create(
                id=uuid4(),
                account_id=account_id,
                purpose=purpose.value,
                notice_version=notice.version,
                granted_at=now,
                using_db=conn,
            )
        if granted or withdrawn:
            await deps.audit.record(
                conn,
                actor,
                "identity.consent_granted" if granted else "identity.consent_withdrawn",
                "account",
                str(account_id),
                {
                    "purpose": purpose.value,
                    "notice_version": notice.version if granted else None,
                    "superseded_count": len(withdrawn) if granted else 0,
                    "withdrawn_count": 0 if granted else len(withdrawn),
                    "face_references_erased_count": erased,
                },
            )
    return consent


async def consent_history(account_id: UUID) -> list[Consent]:
    return await Consent.filter(account_id=account_id).order_by("-granted_at")
