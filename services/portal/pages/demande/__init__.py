"""Nouvelle demande, the guide's steps, one module each: modalite (modality and bank account),
simulation, conditions (CG and validation), prise_en_charge. Each step reads the request back
from requests: the portal keeps no state of it."""

from fastapi import APIRouter

from services.portal.pages.demande import conditions, modalite, prise_en_charge, simulation

router = APIRouter()
for step in (modalite, simulation, conditions, prise_en_charge):
    router.include_router(step.router)
router.include_router(conditions.public)
